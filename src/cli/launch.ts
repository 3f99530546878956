/**
 * dist/cli.js, the `carbon-meter` command: a small launcher that runs the CLI's bundle (dist/cliMain.js, built from
 * main.ts) with a V8 code cache.
 *
 * Node 20 compiles a 1.3 MB bundle from source at every start (about 40 ms of CPU on two slow cores, a fifth of
 * `run`'s start-up), and compiles each function again the first time it runs. V8 can serialise what it compiled
 * (`vm.Script#createCachedData`, taken at exit so that the functions the command ran are in it) and start from it
 * the next time. Node 22's `module.enableCompileCache()` does the same for every module; this is the one module
 * that matters, on the Node versions we support.
 *
 * Each command has its own cache (`run`'s cache is taken with `run`'s V8 flags, see core/meter/meterProcess.ts, and
 * V8 refuses a cache whose flags differ). A cache is a header line naming the bundle it was taken from (its size,
 * modification time and inode, Node's version and the CPU architecture), then V8's data; V8 checks its own version
 * and flags and refuses anything else, and a refused or mismatched cache is taken again. It lives in the user's
 * cache folder (`$XDG_CACHE_HOME/carbon-meter`, or ~/.cache/carbon-meter; ~/Library/Caches on macOS,
 * %LOCALAPPDATA% on Windows), or where CARBON_METER_CODE_CACHE says; `CARBON_METER_CODE_CACHE=off` turns it off.
 * A cache that cannot be read or written changes nothing but the start-up time: no message, except under
 * CARBON_METER_DEBUG.
 */
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { tuneForMetering } from '../core/meter/meterProcess';
import { COMMAND_NAMES } from './commandNames';
import { makeDirs, writeFileAtomic } from '../core/util/fs';

const FORMAT = 'carbon-meter-code-cache 1';
/** A `run` this long has checkpointed twice (every 10 s) and read its processes many times. */
const STEADY_S = 21;
const COMMANDS: ReadonlySet<string> = new Set(COMMAND_NAMES);

/** Where the caches live; undefined: turned off, or no home folder. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string | undefined {
  const set = env.CARBON_METER_CODE_CACHE;
  if (set === 'off' || set === '0') return undefined;
  if (set) return path.resolve(set);
  if (platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'carbon-meter', 'Cache');
  let home: string;
  try {
    home = os.homedir();
  } catch {
    return undefined;
  }
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'carbon-meter');
  const xdg = env.XDG_CACHE_HOME;
  return path.isAbsolute(xdg ?? '') ? path.join(xdg!, 'carbon-meter') : path.join(home, '.cache', 'carbon-meter');
}

/** What a cache's header line starts with: it ties the cache to one build of the bundle and one Node. */
export function cacheHeader(stat: fs.Stats): string {
  return `${FORMAT} ${process.version} ${process.arch} ${stat.size} ${stat.mtimeMs} ${stat.ino}`;
}

/**
 * V8's data from a cache file, when its header names this bundle (`header`, then " complete" or " partial": whether
 * the command ran long enough for its cache to hold its steady state); undefined otherwise.
 */
export function readCache(file: string, header: string): { data: Buffer; complete: boolean } | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const end = buf.indexOf(10);
  const line = end < 0 ? '' : buf.toString('latin1', 0, end);
  if (line !== `${header} complete` && line !== `${header} partial`) return undefined;
  return { data: buf.subarray(end + 1), complete: line.endsWith(' complete') };
}

/** Writes a cache (its header line, then V8's data) whole or not at all, readable by this user alone. */
export function writeCache(file: string, headerLine: string, data: Buffer): void {
  makeDirs(path.dirname(file), 0o700);
  writeFileAtomic(file, Buffer.concat([Buffer.from(`${headerLine}\n`, 'latin1'), data]), { mode: 0o600 });
}

/**
 * The bundle's text. The build leaves it ASCII (scripts/build.mjs), which reads as a one-byte string: decoding 1.3 MB
 * of UTF-8 took 9 ms of CPU, and V8 scans a one-byte string faster.
 */
function readSource(file: string): string {
  const raw = fs.readFileSync(file);
  return typeof isAscii === 'function' && isAscii(raw) ? raw.toString('latin1') : raw.toString('utf8');
}

/** A cache taken by a command's --help, or by a usage error, would hold almost none of the command's functions. */
function worthCaching(args: string[], code: number): boolean {
  return code !== 2 && !(COMMANDS.has(args[0]) && args.some((a) => a === '--help' || a === '-h'));
}

function debug(message: string): void {
  if (process.env.CARBON_METER_DEBUG) process.stderr.write(`carbon-meter: code cache: ${message}\n`);
}

/** Runs the bundle `file` as the main program, through its code cache. */
export function launch(file: string): void {
  const args = process.argv.slice(2);
  if (args[0] === 'run') tuneForMetering(); // before compiling: V8 ties the cache to the flags
  const source = readSource(file);
  const dir = codeCacheDir();
  const cacheFile = dir && path.join(dir, `${COMMANDS.has(args[0]) ? args[0] : 'other'}.v8cache`);
  let header = '';
  let cached: Buffer | undefined;
  let cachedComplete = false;
  if (cacheFile) {
    try {
      header = cacheHeader(fs.statSync(file));
      const found = readCache(cacheFile, header);
      cached = found?.data;
      cachedComplete = found?.complete ?? false;
    } catch {
      // no cache: compiled from source, as without one
    }
  }
  // the CommonJS wrapper, as Node's loader adds it; a '#!' line is not JavaScript
  const body = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const script = new vm.Script(Module.wrap(body), { filename: file, cachedData: cached });
  const accepted = cached !== undefined && !script.cachedDataRejected;
  const state = accepted ? `accepted (${cachedComplete ? 'complete' : 'partial'})` : cached ? 'refused by V8' : 'none';
  debug(`${cacheFile ?? 'off'}: ${state}`);
  // A `run` cache taken before the meter had checkpointed twice lacks the functions of its steady state (they would
  // be compiled from source at 10 s and 20 s into every run): the first run that lasts longer takes it again, once.
  const complete = args[0] !== 'run' || cachedComplete;
  if (cacheFile && header && (!accepted || !complete)) {
    process.once('exit', (code) => {
      if (!worthCaching(args, code)) return;
      const full = args[0] !== 'run' || process.uptime() >= STEADY_S;
      if (accepted && !full) return;
      try {
        const data = script.createCachedData();
        writeCache(cacheFile, `${header} ${full ? 'complete' : 'partial'}`, data);
        debug(`${cacheFile}: written (${data.length} bytes)`);
      } catch (err) {
        debug(`${cacheFile}: not written (${(err as Error).message})`);
      }
    });
  }
  const mod = new Module(file, undefined);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  const req = Module.createRequire(file);
  req.main = mod; // the bundle starts the CLI when it is the main module (main.ts)
  const wrapper = script.runInThisContext() as (...a: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, req, mod, file, path.dirname(file));
}

if (require.main === module) launch(path.join(__dirname, 'cliMain.js'));
