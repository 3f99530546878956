/**
 * koffi, the FFI through which the CLI calls libc (sampling/subreaper.ts) and the NVML reader calls the driver.
 *
 * `require('koffi')` costs about 17 ms of CPU on two slow cores: resolving it through three packages, compiling
 * three JavaScript files, reading Node's own ELF header to tell glibc from musl, and only then loading the prebuilt
 * native module (about 4 ms). Every `carbon-meter run` pays it before it starts the command, a tenth of its
 * start-up. The build copies that native module beside the bundles (scripts/build.mjs: dist/node_modules/@koromix/
 * koffi-<platform>-<arch>/<platform>_<arch>/koffi.node), so on glibc Linux it is loaded directly, when its version
 * is the one koffi's own loader would accept (koffi refuses a mismatch the same way). Anywhere else (another
 * layout, musl, the compiled tests' out/ folder) koffi's own loader runs. What is loaded either way is the same
 * native module; koffi's loader adds nothing we call but deprecated aliases.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The parts of koffi's API this project calls. */
export interface Koffi {
  load(library: string): { func(signature: string): (...args: unknown[]) => unknown };
  version?: unknown;
  [other: string]: unknown;
}

let loaded: Koffi | undefined;

/** The native module beside the bundle in `dir`, when this process runs on glibc Linux; undefined otherwise. */
export function directKoffiPath(dir: string, platform = process.platform, arch = process.arch): string | undefined {
  if (platform !== 'linux' || !onGlibc()) return undefined;
  const file = path.join(
    dir,
    'node_modules',
    '@koromix',
    `koffi-${platform}-${arch}`,
    `${platform}_${arch}`,
    'koffi.node',
  );
  return fs.existsSync(file) ? file : undefined;
}

/** glibc is mapped into this process (the prebuilt module for `linux_<arch>` is built against it, musl has its own). */
function onGlibc(): boolean {
  try {
    return /\/libc\.so\.6$/m.test(fs.readFileSync('/proc/self/maps', 'latin1'));
  } catch {
    return false;
  }
}

/** The version a package.json declares; undefined when unreadable. */
function packageVersion(file: string): string | undefined {
  try {
    const v = (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The native package's version is koffi's (checked before loading it: a native module is loaded once for good). */
function sameVersion(native: string, dir: string): string | undefined {
  const v = packageVersion(path.join(path.dirname(path.dirname(native)), 'package.json'));
  return v !== undefined && v === packageVersion(path.join(dir, 'node_modules', 'koffi', 'package.json'))
    ? v
    : undefined;
}

/** koffi, loaded once; throws what koffi's own loader throws when it cannot be loaded. */
export function loadKoffi(dir = __dirname): Koffi {
  if (loaded) return loaded;
  const direct = directKoffiPath(dir);
  const version = direct && sameVersion(direct, dir);
  if (direct && version) {
    try {
      const mod = { exports: {} as Koffi };
      process.dlopen(mod, direct);
      if (mod.exports.version === version && typeof mod.exports.load === 'function') {
        loaded = mod.exports;
        return loaded;
      }
    } catch {
      // koffi's loader below says why, if it cannot do better
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded = require('koffi') as Koffi;
  return loaded;
}
