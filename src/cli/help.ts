/** The top-level `carbon-meter --help`. */
import { HistoryStore } from '../core/history/store';
import { VERSION } from '../core/version';

export const HELP = `carbon-meter ${VERSION}: energy and CO₂eq of a training run

Usage:
  carbon-meter run [options] [--] <command> [args...] run a command and meter it and its children
                                                       (--json: the record as the last line; --json-out FILE)
  carbon-meter history [--json] [--limit N]           list metered runs, newest first
  carbon-meter export [--format codecarbon-csv|json] [--out FILE]
  carbon-meter import FILE                             add a CodeCarbon emissions.csv to the history
  carbon-meter regions [--energy-kwh X] [--limit N] [--json]
                                                       emissions of that energy in each known region, greenest first
  carbon-meter doctor [--json]                         what this machine allows (RAPL, nvidia-smi, CPU TDP, region)
  carbon-meter slurm JOBID | --since 7d [--json]       account SLURM jobs from SLURM's records into the history

Run 'carbon-meter <command> --help' for a command's options.

Environment:
  CARBON_METER_HOME        history folder (default: ${HistoryStore.defaultDir()})
  CARBON_METER_REGION      default region (ISO 3166 code such as FR or DEU, or provider:region such as aws:eu-west-3)
  CARBON_METER_PUE         default PUE
  CARBON_METER_NVIDIA_SMI  nvidia-smi executable
  CARBON_METER_PROVIDER    carbon intensity source: static (default), electricitymaps, uk-carbon-intensity, watttime
                           (see 'carbon-meter run --help')
`;
