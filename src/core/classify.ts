import { errorMessage } from './errors';
/**
 * Is this command line a training run? Used for terminal commands and tasks, where Carbon Meter decides by
 * itself what to meter. Patterns are regular expressions matched against the command line with leading
 * environment assignments (`CUDA_VISIBLE_DEVICES=0 python train.py`) and wrappers (`time`, `nohup`, `uv run`)
 * removed.
 */

export const DEFAULT_TRAINING_PATTERNS: readonly string[] = [
  // python / python3 / python3.11 / py, running a script or a module
  '^(?:\\S*/)?(?:python|python3(?:\\.\\d+)?|py|pypy3?)(?:\\s|$)',
  // launchers of distributed training
  '^(?:\\S*/)?(?:torchrun|accelerate|deepspeed|horovodrun|mpirun|composer|lightning|tune|ray)(?:\\s|$)',
  // python -m torch.distributed.run is covered by python; scripts run directly
  '^(?:\\S*/)?\\S+\\.py(?:\\s|$)',
  // Julia and R scripts
  '^(?:\\S*/)?(?:julia|Rscript)\\s',
];

const WRAPPERS =
  /^(?:time|nohup|nice(?:\s+-n\s+-?\d+)?|exec|command|uv\s+run|poetry\s+run|pipenv\s+run|conda\s+run(?:\s+-n\s+\S+)?|srun|env)\s+/;
const ENV_ASSIGN = /^[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"[^"]*"|\S*)\s+/;

/** Removes leading `VAR=value` assignments and wrappers such as `time`, `nohup`, `uv run`. */
export function stripCommandPrefixes(commandLine: string): string {
  let s = commandLine.trim();
  for (let i = 0; i < 10; i++) {
    const before = s;
    s = s.replace(ENV_ASSIGN, '').replace(WRAPPERS, '').trim();
    if (s === before) break;
  }
  return s;
}

export interface CompiledPatterns {
  regexes: RegExp[];
  /** patterns that are not valid regular expressions, with the error */
  invalid: { pattern: string; error: string }[];
}

export function compilePatterns(patterns: readonly string[]): CompiledPatterns {
  const regexes: RegExp[] = [];
  const invalid: { pattern: string; error: string }[] = [];
  for (const p of patterns) {
    try {
      regexes.push(new RegExp(p));
    } catch (err) {
      invalid.push({ pattern: p, error: errorMessage(err) });
    }
  }
  return { regexes, invalid };
}

/** Commands that start a Python interpreter but are not runs: REPLs without a script, pip, version queries. */
const NOT_A_RUN =
  /^(?:\S*\/)?(?:python|python3(?:\.\d+)?|py)(?:\s+(?:-V|--version|-m\s+(?:pip|venv|http\.server|json\.tool|pytest|ensurepip|site|pydoc|idlelib))\b|\s*$)/;

export function isTrainingCommand(commandLine: string, patterns: CompiledPatterns): boolean {
  const s = stripCommandPrefixes(commandLine);
  if (!s || NOT_A_RUN.test(s)) return false;
  return patterns.regexes.some((r) => r.test(s));
}
