/**
 * `carbon-meter`: the command line over the same core as the extension, for SSH sessions and CI.
 * It writes to the same history as the extension. Each subcommand lives in its own module, loaded only when it
 * runs (the bundle evaluates a module on its first import()), so `--version` or `history` never pay for CO2.js's
 * tables, the meter or systeminformation; register a new one in COMMANDS below (one line).
 */
import './tuneFirst'; // first of all: V8's tuning for `run`, before the other modules allocate
import { errorMessage } from '../core/errors';
import { VERSION } from '../core/version';
import type { CommandName } from './commandNames';
import { usageFromParseArgs, UsageError, warn } from './common';

type Command = (args: string[]) => number | Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run')).runCommand,
  history: async () => (await import('./history')).historyCommand,
  export: async () => (await import('./export')).exportCommand,
  import: async () => (await import('./import')).importCommand,
  regions: async () => (await import('./regions')).regionsCommand,
  doctor: async () => (await import('./doctor')).doctorCommand,
  slurm: async () => (await import('./slurm')).slurmCommand,
} satisfies Record<CommandName, () => Promise<Command>>; // every name of commandNames.ts, no other

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, cmd))
      return await (
        await COMMANDS[cmd]()
      )(rest);
    switch (cmd) {
      case 'version':
      case '--version':
      case '-v':
        if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) {
          process.stdout.write(`Usage: carbon-meter version\n\nPrints the version of carbon-meter on stdout.\n`);
          return 0;
        }
        if (rest.length) throw new UsageError(`${cmd} takes no arguments, not "${rest[0]}"`);
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case undefined:
        // a usage mistake like any other (one line on stderr, exit 2); the help itself is asked for with --help
        throw new UsageError(`a command is needed: ${Object.keys(COMMANDS).join(', ')}`);
      case '--help':
      case '-h':
        process.stdout.write((await import('./help')).HELP);
        return 0;
      case 'help':
        return await helpCommand(rest);
      default:
        throw new UsageError(`unknown ${cmd.startsWith('-') ? 'option' : 'command'} "${cmd}"`);
    }
  } catch (err) {
    return reportError(err, cmd !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, cmd) ? cmd : undefined);
  }
}

/** `carbon-meter help [COMMAND]`: the top-level help, or COMMAND's own (as `carbon-meter COMMAND --help`). */
async function helpCommand(rest: string[]): Promise<number> {
  if (rest.length > 1) throw new UsageError('help takes one command: carbon-meter help run');
  const [topic] = rest;
  // help's own help is the top-level help, which says what help does
  if (topic === undefined || topic === 'help' || topic === '--help' || topic === '-h') {
    process.stdout.write((await import('./help')).HELP);
    return 0;
  }
  if (topic === 'version' || topic === '--version' || topic === '-v') {
    process.stdout.write(
      'Usage: carbon-meter version\n\nPrints the version of carbon-meter alone on stdout (also --version, -v).\n',
    );
    return 0;
  }
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, topic)) throw new UsageError(`unknown command "${topic}"`);
  return (await COMMANDS[topic]())(['--help']);
}

/** Every error is one line on stderr (no stack trace): 2 for a usage mistake, 1 otherwise. */
function reportError(err: unknown, cmd: string | undefined): number {
  const e = err as NodeJS.ErrnoException;
  const parseError = e?.code?.startsWith('ERR_PARSE_ARGS') ? usageFromParseArgs(e) : e;
  const message = oneLine(errorMessage(parseError));
  // UnknownRegionError by name: importing it would load CO2.js's tables for every command
  const unknownRegion = parseError instanceof Error && parseError.name === 'UnknownRegionError';
  if (parseError instanceof UsageError || unknownRegion || e?.code?.startsWith('ERR_PARSE_ARGS')) {
    // one sentence: "run: unknown region "XX" … for the list (see …)", not "run: Unknown … list. (see …)"
    const sentence = message.replace(/\.$/, '').replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase());
    warn(`${cmd ? `${cmd}: ` : ''}${sentence} (see 'carbon-meter ${cmd ? `${cmd} ` : ''}--help')`);
    return 2;
  }
  warn(message);
  if (process.env.CARBON_METER_DEBUG && e?.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}

/** The first line of a message, its remaining lines joined with "; " (UnknownRegionError lists close matches). */
function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/** The first error writing our stdout, other than a reader that went away (EPIPE): a full disk, a read-only file. */
let outputError: NodeJS.ErrnoException | undefined;

function noteOutputError(err: NodeJS.ErrnoException | null | undefined): void {
  if (err && err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') outputError ??= err;
}

/**
 * Exits once stdout and stderr have handed everything to the OS. process.exit() right after a large write to a
 * pipe drops what the pipe could not take yet (64 KiB on Linux), with exit code 0: `history --json | wc -c` lost all
 * but the first 64 KiB. A write's callback runs after every earlier write on the same stream, so an empty write
 * marks the end. A closed reader (`| head`) makes the write fail with EPIPE; that is not an error of ours. Any other
 * failed write (`export > /dev/full`, a full disk) is said in one line, and the exit code is 1 where it was 0.
 */
export function exitWhenFlushed(code: number): void {
  const streams = [process.stdout, process.stderr];
  let pending = streams.length;
  const done = () => {
    if (--pending) return;
    const err = outputError;
    if (!err) process.exit(code);
    process.stderr.write(`carbon-meter: the output could not be written: ${oneLine(errorMessage(err))}\n`, () =>
      process.exit(code || 1),
    );
  };
  for (const s of streams) {
    if (s.destroyed || s.writableEnded) done();
    else
      s.write('', (err?: NodeJS.ErrnoException | null) => {
        // a failed write is known here before the stream's 'error' event is emitted (on the next tick)
        if (s === process.stdout) noteOutputError(err);
        done();
      });
  }
}

if (require.main === module) {
  // a reader that went away (EPIPE) must not become an uncaught exception with a stack trace; any other failure is
  // said at exit (exitWhenFlushed)
  process.stdout.on('error', noteOutputError);
  process.stderr.on('error', () => undefined);
  main(process.argv.slice(2)).then(
    // exit explicitly, once the output is out: nothing we started (timers, nvidia-smi) may keep a finished run waiting
    (code) => exitWhenFlushed(code),
    (err) => {
      process.stderr.write(`carbon-meter: ${oneLine(errorMessage(err))}\n`);
      exitWhenFlushed(1);
    },
  );
}
