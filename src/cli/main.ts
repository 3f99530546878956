/**
 * `carbon-meter`: the command line over the same core as the extension, for SSH sessions and CI.
 * It writes to the same history as the extension. Each subcommand lives in its own module; register a new one in
 * COMMANDS below (one line).
 */
import { UnknownRegionError } from '../core/intensity/regions';
import { VERSION } from '../core/version';
import { UsageError } from './common';
import { doctorCommand } from './doctor';
import { exportCommand } from './export';
import { HELP } from './help';
import { historyCommand } from './history';
import { importCommand } from './import';
import { regionsCommand } from './regions';
import { runCommand } from './run';

type Command = (args: string[]) => number | Promise<number>;

const COMMANDS: Record<string, Command> = {
  run: runCommand,
  history: historyCommand,
  export: exportCommand,
  import: importCommand,
  regions: regionsCommand,
  doctor: doctorCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, cmd)) return await COMMANDS[cmd](rest);
    switch (cmd) {
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(HELP);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof UnknownRegionError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`carbon-meter: ${(err as Error).message}\nRun 'carbon-meter --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`carbon-meter: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // exit explicitly: nothing we started (timers, nvidia-smi) may keep a finished run waiting
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`carbon-meter: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
