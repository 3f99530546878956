/**
 * Commands that train: a statement that runs a command (`subprocess.run([...])`, `os.system("...")`, a notebook's
 * `!torchrun ...`, see notebook.ts) trains when the command starts a training script or a distributed launcher of
 * one (`torchrun`, `accelerate launch`, `deepspeed`, `python -m torch.distributed.run`, `horovodrun`), unless what it
 * runs is an evaluation (`eval_imagenet.py`, `--eval`, `--do_predict`). The command may be written in the call, or
 * held in a variable the call passes (`cmd = ["torchrun", …]`, `cmd += sys.argv[1:]`, `cmd.append(…)`).
 */
import { argsAt } from './evidence';

/** Calls that run a command: the arguments are read from the `(` on. */
const RUNS_COMMAND =
  /\b(?:subprocess\s*\.\s*(?:run|call|check_call|check_output|Popen)|os\s*\.\s*(?:system|popen|exec\w*)|check_call|check_output|Popen|get_ipython\s*\(\s*\)\s*\.\s*system)\s*\(/;
/** Launchers of distributed training: they start a training script on every device. */
const LAUNCHER =
  /\b(?:torchrun|horovodrun|deepspeed|torch\.distributed\.(?:run|launch)|fairseq-train)\b|\baccelerate["',\s]+launch\b|\blightning["',\s]+run["',\s]+(?:model|app)\b/;
/**
 * Command-line tools with a training subcommand: `python -m spacy train`, `yolo train`, `yolo detect train`,
 * `yolo task=detect mode=train`, torchtune's `tune run`.
 */
const CLI_TRAIN =
  /\b(?:spacy|allennlp|ludwig|llamafactory-cli|litgpt|autotrain)["',\s]+(?:train|finetune|fine-tune|llm)\b|\btune["',\s]+run\b|\byolo(?:["',\s]+(?:task=)?\w+)?["',\s]+(?:mode=)?train\b/;
/** A Python interpreter before a script or a module: `python3 -m`, `sys.executable`, `{sys.executable}`. */
const INTERPRETER = /(?:\bpython[\d.]*|\bsys\.executable|\b(?:bash|sh|sbatch|srun|qsub))\b/;
/** The scripts a command runs (`train.py`, `scripts/pretrain_gpt.py`) and the modules after `-m`. */
const SCRIPT = /[\w/.-]*\.(?:py|sh|sbatch|slurm)\b|(?<=-m["',\s]+)[A-Za-z_][\w.]*/g;
const TRAIN_WORD = /^(?:train\w*|training|finetune\w*|fine|tune|pretrain\w*|sft|dpo|ppo|grpo|fit)$/;
/** Hugging Face's example scripts train by default: `run_clm.py`, `run_glue.py`, `run_summarization.py`. */
const HF_EXAMPLE =
  /^(?:clm|mlm|plm|glue|xnli|qa|squad|swag|ner|summarization|translation|classification|seq2seq|speech)$/;
const EVAL_WORD =
  /^(?:eval\w*|test\w*|infer\w*|predict\w*|bench\w*|export\w*|serve|server|demo|generate|generation|sample|sampling|score|scoring|validate|validation|quantize|convert)$/;
/** Scripts that prepare data or vocabularies, even with "train" in their name (`make_train_split.py`, `train_tokenizer.py`). */
const DATA_WORD =
  /^(?:split|splits|data|dataset|datasets|download|preprocess\w*|prepare|prep|tokeni[sz]\w*|vocab|bpe|spm|sentencepiece|shard|plot|stats|clean)$/;
/** Flags that make a training script evaluate only. */
const EVAL_FLAG =
  /--(?:eval(?:uate)?|test|predict|inference)(?:[-_]only)?\b(?![-_]\w)|--do[-_](?:eval|predict)\b|--evaluate\b/;
const DO_TRAIN = /--do[-_]train\b/;
const IDENTIFIER = /[A-Za-z_]\w*/g;
/** Words in a call's arguments that are never the variable holding the command. */
const NOT_A_COMMAND =
  /^(?:check|shell|text|cwd|env|capture_output|stdout|stderr|True|False|None|shlex|split|join|str|sys|os|f|subprocess|stdin|timeout|universal_newlines|encoding)$/;

/** The words of a script's name: `scripts/eval_imagenet.py` → ["eval", "imagenet"]. */
function scriptWords(script: string): string[] {
  const name =
    script
      .replace(/\.(?:py|sh|sbatch|slurm)$/, '')
      .split(/[/.]/)
      .pop() ?? '';
  return name.toLowerCase().split(/[_-]+/).filter(Boolean);
}

/** Does this command text (a string, an f-string, a list literal, possibly several pieces) start training? */
export function commandTrains(command: string): boolean {
  const scripts = (command.match(SCRIPT) ?? []).filter((s) => !/^torch\.distributed\./.test(s));
  const kinds = scripts.map(scriptKind);
  if (kinds.includes('other') && !kinds.includes('train')) return false;
  if (EVAL_FLAG.test(command) && !DO_TRAIN.test(command)) return false;
  if (LAUNCHER.test(command) || CLI_TRAIN.test(command)) return true;
  // a training script run by an interpreter, or a shell script that runs itself (`./train.sh`)
  return kinds.includes('train') && (INTERPRETER.test(command) || /\.(?:sh|sbatch|slurm)\b/.test(command));
}

/**
 * What a script does, from its name: 'train' (`train.py`, `finetune_lora.py`, Hugging Face's `run_glue.py`), 'other'
 * (an evaluation, inference, export, data or vocabulary preparation: `eval_imagenet.py`, `make_train_split.py`), or
 * '' (nothing said: `main.py`).
 */
function scriptKind(script: string): 'train' | 'other' | '' {
  const words = scriptWords(script);
  if (words.some((w) => DATA_WORD.test(w))) return 'other';
  if (words.some((w) => TRAIN_WORD.test(w))) return 'train';
  if (words[0] === 'run' && words.slice(1).some((x) => HF_EXAMPLE.test(x))) return 'train';
  return words.some((w) => EVAL_WORD.test(w)) ? 'other' : '';
}

/** A statement that puts something into a variable: `name = …`, `name += …`, `name.append(…)`, `name.extend(…)`. */
export const DEFINES = /^([A-Za-z_]\w*)\s*(?:\+?=(?!=)|\.\s*(?:append|extend|insert)\s*\()/;

/**
 * Does this statement run a training command (in its own text, or in the variables it passes)? `definitions(name)`:
 * the raw text of the statements that put something into `name` (see DEFINES).
 */
export function launchesTraining(raw: string, definitions: (name: string) => string): boolean {
  const m = RUNS_COMMAND.exec(raw);
  if (!m) return false;
  const args = argsAt(raw, m.index + m[0].length - 1);
  const pieces = [args];
  const seen = new Set<string>();
  // the variables passed (outside string literals): `subprocess.run(cmd)`, `os.system(" ".join(launch))`
  const code = args.replace(/(["'])(?:\\.|(?!\1).)*\1/g, '""');
  for (const id of code.match(IDENTIFIER) ?? []) {
    if (seen.size >= 6 || seen.has(id) || NOT_A_COMMAND.test(id)) continue;
    seen.add(id);
    pieces.push(definitions(id));
  }
  return commandTrains(pieces.join('\n'));
}
