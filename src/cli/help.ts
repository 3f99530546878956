/** The top-level `carbon-meter --help` (each command's own help lives with the command). */
import { HistoryStore } from '../core/history/store';
import { VERSION } from '../core/version';

/** Where the history goes when CARBON_METER_HOME is not set (not what it is set to now). */
const defaultHome = HistoryStore.defaultDir({ ...process.env, CARBON_METER_HOME: '' });

export const HELP = `carbon-meter ${VERSION}: energy and CO₂eq of a training run

Usage:
  carbon-meter run [options] [--] <command> [args...] run a command and meter it and every process it starts
                                                       (--json: the record as the last line; --json-out FILE)
  carbon-meter history [--json] [--limit N]           list metered runs, newest first
  carbon-meter export [--format codecarbon-csv|json] [--out FILE] [--keep-secrets]
                                                       the history as CodeCarbon's emissions.csv or JSON
  carbon-meter import FILE                             add a CodeCarbon emissions.csv to the history
  carbon-meter regions [--energy-kwh X] [--limit N] [--json]
                                                       emissions of that energy in each known region, greenest first
  carbon-meter doctor [--json]                         what this machine allows: RAPL, NVML, nvidia-smi, amd-smi,
                                                       rocm-smi, the CPU and its TDP, the region
  carbon-meter slurm JOBID | --since 7d [--json]       account SLURM jobs from SLURM's records into the history
  carbon-meter help [COMMAND]                          this help, or COMMAND's (same as carbon-meter COMMAND --help)
  carbon-meter version                                 the version (also --version, -v)

Exit codes: 0 done; 2 a mistake in the command line (one line on stderr); 1 anything else; 'run' exits with the
command's own code (126 cannot run it, 127 not found).

Environment:
  CARBON_METER_HOME        history folder, shared with the VS Code extension
                           (default: ${defaultHome})
  CARBON_METER_REGION      default region: ISO 3166 code (FR, DEU) or provider:region (aws:eu-west-3); without it,
                           and without --region, the region is guessed from the time zone ($TZ, /etc/localtime),
                           else the world average is used; the summary says which
  CARBON_METER_PUE         default PUE (1.0 locally; a cloud region's published PUE otherwise)
  CARBON_METER_PROVIDER    carbon intensity source: static (default), electricitymaps, uk-carbon-intensity, watttime
                           (their own variables: 'carbon-meter help run')
  CARBON_METER_NVIDIA_SMI  nvidia-smi executable (default: nvidia-smi on PATH; NVML is tried first)
  CARBON_METER_AMD_SMI     amd-smi executable (default: amd-smi on PATH)
  CARBON_METER_ROCM_SMI    rocm-smi executable, used when amd-smi is missing (default: rocm-smi on PATH)
  CARBON_METER_CLUSTERS    per-cluster settings for 'slurm' (a JSON file; see 'carbon-meter help slurm')
  CARBON_METER_SLURM_BIN, CARBON_METER_SLURM_TIMEOUT
                           folder of SLURM's commands, seconds to wait for one (see 'carbon-meter help slurm')
  CARBON_METER_CODE_CACHE  folder of the CLI's compiled-code cache, or 'off' (default: ~/.cache/carbon-meter, or
                           $XDG_CACHE_HOME/carbon-meter); a cache only makes start-up faster, it is safe to delete
  CARBON_METER_DEBUG       any value: print the stack trace of an unexpected error, and what the code cache did
`;
