/**
 * Where does training start in a Python file? Finds the lines a CodeLens goes on, with no decorator and no
 * configuration, from the code alone.
 *
 * The model (test/fixtures/codelens/README.md has it in words, with the corpus that checks it):
 *
 * - Evidence of training: training calls (`trainer.fit(…)`, `trainer.train()`, `model.fit(…)` on a model rather
 *   than a scaler, `xgb.train(…)`, `learn.fine_tune(…)`, `cross_val_score(…)`, a call to an imported `train_model(…)`)
 *   and optimisation steps (`optimizer.step()`, `state.apply_gradients(…)`, `optax.apply_updates(…)`,
 *   `w -= lr * w.grad`, `model.train_on_batch(…)`, a call to an imported `train_one_epoch(…)`). A loop is a training
 *   loop when its body steps or trains, itself or through the functions it calls. `loss.backward()` alone is not
 *   enough: attacks and saliency maps compute gradients without training.
 * - What runs: the module's top-level statements (the `if __name__ == "__main__":` block among them), and the
 *   functions they reach by calling or naming them (callbacks, `mp.spawn(train, …)`, `study.optimize(objective)`),
 *   transitively. Functions called from inside a training loop are its steps ("inner"), not entry points.
 * - Lenses, ranked: the main block; top-level training loops and calls; the `def` of a training function
 *   (`def train(…)`, `def fit(…)`) reached from the top level; training loops and calls inside other functions.
 *   A candidate inside (or around) a chosen one is dropped, and a file gets MAX_LENSES at most.
 * - No lens in test modules (pytest, unittest) or in files that start a web server (Flask, FastAPI, Gradio…).
 *
 * Pure and synchronous. Cost: one scan of the characters (python.ts), two regular-expression searches over the
 * whole code (training words, local function names), then close reading of the few statements they point at; about
 * 5 ms for a 5,000-line file (bench/codelens.ts), cached per document version by the extension.
 */
import { initDetector } from './parser';
import { collectRateAndGradNames, fileNames, isParameterUpdate, type FileNames } from './flow';
import { parseStatements, type ParsedSource, type Statement } from './python';

export type EntrypointKind = 'main' | 'function' | 'loop' | 'call';

export interface TrainingEntrypoint {
  /** 0-based line of the lens. */
  line: number;
  kind: EntrypointKind;
  /** 0–1, higher first; the list is sorted by it. */
  score: number;
  /** What was found, for tooltips: "main block", "train()", "training loop", "trainer.fit()". */
  label: string;
}

export interface DetectOptions {
  /**
   * A notebook's cells, concatenated: only statements that run when a cell runs get a lens (not the `def` of a
   * training function, which only defines it).
   */
  notebook?: boolean;
  /** Lenses per file (default MAX_LENSES). */
  maxLenses?: number;
}

export const MAX_LENSES = 3;

// ------------------------------------------------------------------------------------------------------------------
// Evidence on one statement's text

const MAIN_GUARD = /^if\s*\(?\s*(?:__name__\s*==\s*"__main__"|"__main__"\s*==\s*__name__)\s*\)?\s*:/;
const DEF = /^(?:async\s+)?def\s+([A-Za-z_]\w*)/;
const LOOP = /^(?:async\s+)?(?:for|while)\b/;
const EPOCH_LOOP = /^(?:async\s+)?(?:for\b[^:]*\b(?:epochs?|ep|steps?|global_step|iterations?|iters?|rounds?|updates?|episodes?)\b|while\b)/;

/** Optimiser-like receivers of `.step(` (not schedulers, not environments). */
const STEP_RECEIVER = /opt|scaler|engine|trainer/i;
/** What an optimiser is built from: `adam = torch.optim.Adam(…)`. */
const OPTIMIZER_CLASS = /optim|^(?:Adam\w*|SGD|RMSprop|Adagrad|Adadelta|Adamax|NAdam|RAdam|LBFGS|Lion|Lamb|LAMB|Adafactor|Sophia\w*|Shampoo|Muon)$/;
/** RL agents and learners: `agent.step(state, action, reward, next_state, done)`, `agent.replay(32)`, `agent.learn()`. */
const AGENT_RECEIVER = /agent|learner/i;
const AGENT_LEARN = /\.\s*(?:(?:step|update|train_step)\s*\(\s*[^)\s]|(?:replay|learn|optimize_model|optimize|train_model|experience_replay)\s*\()/;
const NOT_STEP_RECEIVER = /sched/i;
/** Steps, each behind a substring that must be there first (most statements have none of them). */
const STEP_PATTERNS: [string, RegExp][] = [
  ['apply_gradients', /\.\s*apply_gradients\s*\(/],
  ['apply_updates', /\boptax\s*\.\s*apply_updates\s*\(/],
  ['grad', /\.\s*update\s*\(\s*(?:[\w.]+\s*,\s*)?grads?\b/],
  ['minimize', /\b\w*opt\w*(?:\([^()]*\))?\s*\.\s*minimize\s*\(/i],
  ['train_on_batch', /\.\s*train_on_batch\s*\(/],
  ['partial_fit', /\.\s*partial_fit\s*\(/],
  ['-=', /[\w\]]\s*-=\s*[^=]*\.\s*grad\b/],
  ['grad', /\.\s*(?:sub_|add_)\s*\([^)]*\.\s*grad\b/],
  ['lambda', /\btree(?:_util)?\s*\.\s*(?:tree_)?map\s*\(\s*lambda\s+\w+\s*,\s*\w+\s*:\s*\w+\s*-/],
  ['nlp', /\bnlp\s*\.\s*update\s*\(/],
  ['optimizer_step', /\boptimizer_step\s*\(/],
];
/** A statement without any of these cannot step. */
const STEP_GATE = /step|grad|apply_updates|minimize|train_on_batch|partial_fit|-=|lambda|nlp|epoch|batch|iter|replay|learn|optimize/;
/** A statement without any of these cannot train. */
const TRAIN_GATE = /fit|train|learn|tune|LightningCLI|search|cross_val|_curve|Word2Vec|Doc2Vec|FastText|Lda|Lsi|Hdp|launch|spawn|agent|\(/;

/** Functions that do one step of training when called (imported from elsewhere; local ones are read). */
const STEP_NAME = /^(?:train_(?:one_)?epoch|train_step|train_batch|training_step|train_iter(?:ation)?|run_epoch|fit_epoch|train_on_batch|update_step|sgd_step|learn_step)$/;
const STEP_CALL = /(?:^|[^\w])(train_(?:one_)?epoch|train_step|train_batch|training_step|train_iter(?:ation)?|run_epoch|fit_epoch|train_on_batch|update_step|sgd_step|learn_step)\s*\(/g;
const TRAIN_CALL = /(^|[^\w])((?:train|fit|finetune|fine_tune|pretrain)\w*|\w+_(?:train|finetune|fine_tune|pretrain)|run_train\w*|do_train)\s*\(/g;
/** Functions that train when called (imported from elsewhere; local ones are read). */
const TRAIN_NAME = /^(?:(?:train|fit|finetune|fine_tune|pretrain)(?:_\w+)?|\w+_(?:train|finetune|fine_tune|pretrain)|run_train\w*|do_train)$/;
/** Names that look like training and are not: data splits, loaders, transforms, step helpers. */
const NOT_TRAIN_NAME =
  /split|loader|dataset|data|transform|path|dir$|files?$|size|idx|indices|index|mask|label|sampler|config|cfg|args|_df$|_ds$|_x$|_y$|_set$|_sets$|_gen$|generator|features|texts?$|images|examples|_ids$|new_from_iterator|_loss(?:es)?$|_acc(?:uracy)?$|_metrics?$|_scores?$|_time$|_hist(?:ory)?$|writer|_log$|^fit_(?:predict|resample|on_)/i;

/** Classes and receivers that are preprocessing, not models: `scaler.fit(X)` prepares data. */
const PREPROCESSING =
  /scaler|encoder|enc$|^enc|vectori[sz]er|^vec|tfidf|imputer|^pca|svd|tokeni[sz]er|normali[sz]er|binari[sz]er|discreti[sz]er|poly|selector|selectkbest|variancethreshold|columntransformer|functiontransformer|quantiletransformer|powertransformer|kfold|splitter|tsne|umap|isomap|nystroem|rbfsampler|preprocess|^prep|^ohe$|^le$|^mlb$|^ct$|reducer/i;
const MODEL_LIKE =
  /model|net\b|net$|network|clf|classif|regress|estimator|pipe|search|grid|^gs$|^rs$|forest|boost|xgb|lgb|gbm|catboost|^rf$|svc|svr|svm|^knn|kneighbors|tree|booster|ensemble|stack|vot|^lr$|logreg|logistic|linear|ridge|lasso|elastic|bayes|^nb$|perceptron|mlp|autoencoder|^ae$|vae|gan|tuner|agent|learner|kmeans|means|cluster|prophet|arima|sarimax|sequential|transformer$|^m$|^clf|^reg$/i;
const TRAIN_ARGS = /\bepochs?\s*=|\b[xX]_?train\b|\btrain_(?:ds|dataset|data|loader|dataloader|gen|generator|x|X|y)\b|\bcallbacks\s*=|\bvalidation_data\s*=|\bvalidation_split\s*=|\bdatamodule\b|\btrain_dataloaders\s*=|\bsteps_per_epoch\s*=|\bbatch_size\s*=/;
const TREE_TRAIN_RECEIVER = /trainer|^xgb$|xgboost|^lgb$|lightgbm|booster|catboost|tuner|runner|^algo|algorithm|agent|learner|solver/i;
/** Tokenizer trainers (BPE, WordPiece, SentencePiece): a vocabulary, not model parameters. */
const TOKENIZER = /tokeni[sz]er|sentencepiece|^spm$|bpe|wordpiece|unigram|wordlevel|vocab/i;
/** gensim models train when built on a corpus: `Word2Vec(sentences, …)`, `LdaMulticore(corpus=bow, …)`. */
const GENSIM_TRAINING = /\b(Word2Vec|Doc2Vec|FastText|LdaModel|LdaMulticore|LsiModel|HdpModel)\s*\(\s*(?!\)|[A-Za-z_]\w*\s*=(?!=))|\b(Word2Vec|Doc2Vec|FastText|LdaModel|LdaMulticore|LsiModel|HdpModel)\s*\([^)]*\b(?:sentences|corpus|documents|corpus_file|corpus_iterable)\s*=/;
/** Launchers that run a function in workers: `notebook_launcher(training_loop, …)`, `launch(main, …)`. */
const LAUNCHER_CALL = /\b(?:notebook_launcher|spawn|launch|start_processes|agent)\s*\(\s*(?:[^,()]*,\s*function\s*=\s*)?([A-Za-z_]\w*)/;
const FIT_LIKE_METHODS = /\.\s*(fit_one_cycle|fine_tune|fit_flat_cos|fit_sgdr|fit_generator|train_model)\s*\(/;

export interface CallEvidence {
  /** 2 strong (a trainer, a model, a known launcher), 1 weak (an imported function with a training name). */
  strength: 1 | 2;
  label: string;
}

/** `name = Ctor(…)` and `self.name = Ctor(…)` across the file: what each name holds. */
type Constructors = Map<string, string>;

const MODULE_RECEIVER = /model|net|module|encoder|decoder|backbone|policy|critic|actor|generator|discriminator|head|^[gd]$/i;
const ASSIGN_CTOR = /^(?:self\s*\.\s*)?([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*([A-Za-z_][\w.]*)\s*\(/;

function lastSegment(dotted: string): string {
  const k = dotted.lastIndexOf('.');
  return k >= 0 ? dotted.slice(k + 1) : dotted;
}

/** The receiver before `.method(` at `dot` (index of the dot): `self.model` → "model", `SVC(C=1)` → "SVC". */
function receiverAt(text: string, dot: number): string {
  let k = dot - 1;
  while (k >= 0 && text.charCodeAt(k) === 32) k--;
  if (k >= 0 && text[k] === ')') {
    // `Ctor(...).fit(`: the name before the matching parenthesis
    let depth = 0;
    for (; k >= 0; k--) {
      const ch = text[k];
      if (ch === ')' || ch === ']' || ch === '}') depth++;
      else if (ch === '(' || ch === '[' || ch === '{') {
        depth--;
        if (depth === 0) break;
      }
    }
    k--;
    while (k >= 0 && text.charCodeAt(k) === 32) k--;
  }
  const end = k + 1;
  while (k >= 0 && /[\w.]/.test(text[k])) k--;
  return lastSegment(text.slice(k + 1, end));
}

/** The argument text of the call whose `(` is at `open`. */
function argsAt(text: string, open: number): string {
  let depth = 0;
  for (let k = open; k < text.length; k++) {
    const ch = text[k];
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return text.slice(open + 1, k).trim();
    }
  }
  return text.slice(open + 1).trim();
}

/** The class a call builds: `Runner.from_cfg` → "Runner", `nn.Linear` → "Linear"; aliases and local trainer subclasses resolved. */
function constructed(callee: string, names?: FileNames): string {
  const parts = callee.split('.');
  let last = parts[parts.length - 1];
  if (parts.length > 1 && /^(?:from_\w+|build|create|load|make|setup)$/.test(last) && /^[A-Z]/.test(parts[parts.length - 2])) last = parts[parts.length - 2];
  if (!names) return last;
  last = names.aliases.get(last) ?? last;
  return names.trainerClasses.get(last) ?? last;
}

function holds(name: string, ctors: Constructors): string {
  return ctors.get(name) ?? name;
}

/** Does `.fit(` / `.train(` on this receiver train a model? */
function fitsModel(receiver: string, args: string, ctors: Constructors): 0 | 1 | 2 {
  const what = holds(receiver, ctors);
  if (/trainer/i.test(what) || /trainer/i.test(receiver)) return 2;
  if (PREPROCESSING.test(what) || (what === receiver && PREPROCESSING.test(receiver))) return 0;
  if (MODEL_LIKE.test(what) || MODEL_LIKE.test(receiver)) return 2;
  if (TRAIN_ARGS.test(args) || args.includes(',')) return 1;
  return 0;
}

/** A training call on this statement, if any. `local` holds the names of functions defined in the file. */
export function trainingCall(text: string, ctors: Constructors = new Map(), local: ReadonlySet<string> = new Set(), names?: FileNames): CallEvidence | undefined {
  if (!TRAIN_GATE.test(text)) return undefined;
  let best: CallEvidence | undefined;
  const consider = (e: CallEvidence) => {
    if (!best || e.strength > best.strength) best = e;
  };
  if (text.includes('fit') || text.includes('train')) {
    const re = /\.\s*(fit|train)\s*\(/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const receiver = receiverAt(text, m.index);
      const args = argsAt(text, m.index + m[0].length - 1);
      if (m[1] === 'fit') {
        const s = fitsModel(receiver, args, ctors);
        if (s) consider({ strength: s, label: `${receiver || 'model'}.fit()` });
      } else {
        const what = holds(receiver, ctors);
        // a tokenizer's vocabulary is learnt, no model parameter is optimised
        if (TOKENIZER.test(receiver) || TOKENIZER.test(what)) continue;
        if (TREE_TRAIN_RECEIVER.test(receiver) || TREE_TRAIN_RECEIVER.test(what)) {
          consider({ strength: 2, label: `${receiver}.train()` });
        } else if (args && !/^(?:True|False|mode\s*=.*|not\s+\w+|[A-Za-z_][\w.]*)$/.test(args)) {
          // model.train() and model.train(False) switch a torch module's mode; with real arguments it trains
          consider({ strength: TRAIN_ARGS.test(args) || /\bdata\s*=|num_boost_round|dtrain|train_set|total_examples/.test(args) ? 2 : 1, label: `${receiver}.train()` });
        }
      }
    }
    if (/\bTrainer\s*\(.*\)\s*\.\s*(?:fit|train)\s*\(/.test(text)) consider({ strength: 2, label: 'Trainer().train()' });
  }
  const fm = FIT_LIKE_METHODS.exec(text);
  if (fm) consider({ strength: 2, label: `${receiverAt(text, fm.index)}.${fm[1]}()` });
  if (/\bLightningCLI\s*\(/.test(text)) consider({ strength: 2, label: 'LightningCLI()' });
  if (names?.cliNames.size && text.includes('(')) {
    for (const cli of names.cliNames) if (new RegExp(`(?:^|[^\\w.])${cli}\\s*\\(`).test(text) && !/^class\s/.test(text)) consider({ strength: 2, label: `${cli}()` });
  }
  const gensim = GENSIM_TRAINING.exec(text);
  if (gensim) consider({ strength: 2, label: `${gensim[1] ?? gensim[2]}()` });
  const launched = LAUNCHER_CALL.exec(text);
  if (launched && !local.has(launched[1]) && /train/i.test(launched[1]) && !NOT_TRAIN_NAME.test(launched[1])) consider({ strength: 1, label: `${launched[1]}()` });
  if (/\btuner\s*\.\s*search\s*\(/.test(text)) consider({ strength: 2, label: 'tuner.search()' });
  if (/\.\s*learn\s*\(\s*(?:total_timesteps|\d)/.test(text)) consider({ strength: 2, label: `${receiverAt(text, text.indexOf('.learn'))}.learn()` });
  const cv = /\b(cross_val_score|cross_validate|cross_val_predict|learning_curve|validation_curve)\s*\(/.exec(text);
  if (cv) consider({ strength: 1, label: `${cv[1]}()` });
  if (best || !/train|fit|tune/.test(text)) return best;
  // imported functions with a training name: train_model(cfg), engine.finetune(…)
  const named = TRAIN_CALL;
  named.lastIndex = 0;
  for (let m = named.exec(text); m; m = named.exec(text)) {
    const name = m[2];
    if (local.has(name) || ctors.has(name) || !TRAIN_NAME.test(name) || NOT_TRAIN_NAME.test(name) || STEP_NAME.test(name)) continue;
    const dotted = m[1] === '.';
    if (dotted && (name === 'train' || name === 'fit')) continue; // judged above
    if (/^(?:def|class)\s/.test(text)) continue;
    consider({ strength: 1, label: `${name}()` });
  }
  return best;
}

/** An optimisation step on this statement? */
export function optimisationStep(text: string, local: ReadonlySet<string> = new Set(), ctors: Constructors = new Map()): boolean {
  if (!STEP_GATE.test(text)) return false;
  if (text.includes('step')) {
    const re = /([\w\[\]().]+)\s*\.\s*step\s*\(/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const recv = lastSegment(m[1].replace(/\[[^\]]*\]|\([^)]*\)/g, '').replace(/\.+$/, ''));
      if (NOT_STEP_RECEIVER.test(recv)) continue;
      if (STEP_RECEIVER.test(recv) || OPTIMIZER_CLASS.test(holds(recv, ctors))) return true;
    }
  }
  for (const [needle, p] of STEP_PATTERNS) if (text.includes(needle) && p.test(text)) return true;
  const agent = AGENT_LEARN.exec(text);
  if (agent && AGENT_RECEIVER.test(receiverAt(text, agent.index))) return true;
  if (!/epoch|step|batch|iter/.test(text)) return false;
  STEP_CALL.lastIndex = 0;
  for (let m = STEP_CALL.exec(text); m; m = STEP_CALL.exec(text)) if (!local.has(m[1])) return true;
  return false;
}

const SERVER_CREATE = /^(?:[A-Za-z_]\w*)\s*=\s*(?:[\w.]*\.)?(?:Flask|FastAPI|Starlette|Sanic|Quart|Bottle|Litestar|APIRouter)\s*\(|^(?:[A-Za-z_]\w*)\s*=\s*gr\s*\.\s*(?:Interface|Blocks|ChatInterface)\s*\(/;
const SERVER_RUN = /\b(?:uvicorn|waitress|hypercorn|socketio|web)\s*\.\s*(?:run|serve|run_app)\s*\(|\b(?:app|application|server|httpd|demo|iface|interface|ui)\s*\.\s*(?:run|launch|serve|serve_forever)\s*\(|\bst\s*\.\s*(?:title|write)\s*\(/;
const CLI_COMMAND_DECORATOR = /^@\s*[\w.]*\b(?:command|main|callback)\b/;

// ------------------------------------------------------------------------------------------------------------------
// The file model

interface Fn {
  name: string;
  /** index of the def statement */
  at: number;
  isMethod: boolean;
  decorators: string[];
  /** direct evidence in its own statements (not in nested defs) */
  step: boolean;
  call: boolean;
  /** functions it names */
  refs: Set<number>;
  stepsT: boolean;
  trainsT: boolean;
}

interface Facts {
  stmts: Statement[];
  /** index of the innermost def containing each statement (-1: module level; a def belongs to its parent) */
  owner: Int32Array;
  /** OTHER, IS_DEF, IS_CLASS, IS_DECORATOR or IS_IMPORT */
  kind: Uint8Array;
  /** statements with a word of SERVER_WORDS, to be read closely */
  serverish: Uint8Array;
  fns: Fn[];
  /** for each statement: direct evidence */
  step: Uint8Array;
  call: (CallEvidence | undefined)[];
  refs: (number[] | undefined)[];
  loop: Uint8Array;
}

const TRAINS = 1;
const SERVER = 2;
/**
 * Names of calls without which a statement neither steps nor trains (see optimisationStep and trainingCall; with
 * TRAINING_WORD and `-=`), or creates or starts a web server.
 */
const CALL_WORDS = new Map<string, number>([
  ...['step', 'apply_gradients', 'update', 'minimize', 'train_on_batch', 'partial_fit', 'sub_', 'add_', 'search', 'learn', 'apply_updates', 'LightningCLI', 'run_epoch', 'update_step', 'sgd_step', 'learn_step', 'optimizer_step', 'map', 'tree_map', 'Word2Vec', 'Doc2Vec', 'FastText', 'LdaModel', 'LdaMulticore', 'LsiModel', 'HdpModel', 'notebook_launcher', 'spawn', 'launch', 'start_processes', 'agent', 'replay', 'optimize_model', 'optimize', 'experience_replay'].map(
    (w) => [w, TRAINS] as [string, number],
  ),
  ...['Flask', 'FastAPI', 'Starlette', 'Sanic', 'Quart', 'Bottle', 'Litestar', 'APIRouter', 'Interface', 'Blocks', 'ChatInterface', 'run', 'launch', 'serve', 'serve_forever', 'run_app', 'title', 'write'].map(
    (w) => [w, SERVER] as [string, number],
  ),
]);
/** Loops written as calls: `jax.lax.fori_loop`, `lax.scan`, `lax.while_loop`. */
const LOOP_CALL = /\b(?:fori_loop|scan|while_loop)\s*\(/;
/** Calls that run a command, and commands that train: `os.system("accelerate launch train.py")`. */
const RUNS_COMMAND = /\b(?:subprocess\s*\.\s*(?:run|call|check_call|check_output|Popen)|os\s*\.\s*(?:system|popen|exec\w*)|check_call|Popen)\s*\(\s*(?:f?["'\[]|([A-Za-z_]\w*))?/;
const TRAINING_COMMAND = /\b(?:torchrun|accelerate["',\s]+launch|deepspeed|horovodrun|python[\d.]*["',\s]+(?:-m["',\s]+)?[\w/.-]*(?:train|finetune|fine_tune|pretrain)[\w.-]*)\b|["'](?:torchrun|deepspeed|horovodrun)["']/;

/** Does this statement run a training command (in its own text, or in the variable it passes)? */
function launchesTraining(raw: string, source: string): boolean {
  const m = RUNS_COMMAND.exec(raw);
  if (!m) return false;
  if (TRAINING_COMMAND.test(raw)) return true;
  if (!m[1]) return false;
  const def = new RegExp(`^[ \\t]*${m[1]}\\s*=\\s*(.*)$`, 'm').exec(source);
  return !!def && TRAINING_COMMAND.test(def[1]);
}

/** Statements that may update a parameter by hand (read from the tree only then). */
const FLOW_GATE = /(?:[-+]=|=[^=].*[-+]|assign_(?:sub|add)|lambda|^return\b.*[-+])/;
const TRAINING_WORD = /^(?:train|fit|finetune|fine_tune|pretrain|cross_val|run_train|do_train)|_curve$|_(?:train|finetune|fine_tune|pretrain)$/;

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

/** Is position `at` of a statement inside a kept string literal ("__main__", "train")? */
function insideQuotes(text: string, at: number): boolean {
  let quotes = 0;
  for (let k = text.indexOf('"'); k >= 0 && k < at; k = text.indexOf('"', k + 1)) quotes++;
  return quotes % 2 === 1;
}

/** `recv.train()`, `recv.train(False)` with a torch-module receiver ending before `dot`, arguments from `after`. */
function isModeSwitch(text: string, dot: number, after: number): boolean {
  if (!/^\s*\(\s*(?:True|False|mode\s*=\s*\w+|not\s+\w+)?\s*\)/.test(text.slice(after, after + 40))) return false;
  let k = dot - 1;
  while (k >= 0 && text.charCodeAt(k) === 32) k--;
  const end = k + 1;
  while (k >= 0 && /\w/.test(text[k])) k--;
  return MODULE_RECEIVER.test(text.slice(k + 1, end));
}

const OTHER = 0;
const IS_DEF = 1;
const IS_CLASS = 2;
const IS_DECORATOR = 3;
const IS_IMPORT = 4;

const KIND_OF_TYPE = new Map<string, number>([
  ['function_definition', IS_DEF],
  ['class_definition', IS_CLASS],
  ['decorator', IS_DECORATOR],
  ['import_statement', IS_IMPORT],
  ['import_from_statement', IS_IMPORT],
  ['future_import_statement', IS_IMPORT],
]);

/** A file computes a loss or a gradient somewhere: without one, `optimizer.step()` moves nothing (an LR-schedule plot). */
const LOSS_OR_GRADIENT = /\bbackward\s*\(|loss|\bgrads?\b|\.grad\b|gradient|closure|criterion/i;

function analyse(parsed: ParsedSource): Facts {
  const { stmts, tree, source } = parsed;
  const n = stmts.length;
  const names = fileNames(stmts);
  const hasLoss = LOSS_OR_GRADIENT.test(source);
  const owner = new Int32Array(n).fill(-1);
  const kind = new Uint8Array(n);
  const fns: Fn[] = [];
  const ctors: Constructors = new Map();
  const loop = new Uint8Array(n);

  // scopes: defs and classes (a def directly in a class body is a method); `fn` is the innermost def around
  const scopes: { end: number; fn: number; isClass: boolean }[] = [];
  let pendingDecorators: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = stmts[i];
    while (scopes.length && scopes[scopes.length - 1].end < i) scopes.pop();
    const top = scopes[scopes.length - 1];
    owner[i] = top ? top.fn : -1;
    const t = s.text;
    const k = (kind[i] = KIND_OF_TYPE.get(s.type) ?? OTHER);
    if (k === IS_DECORATOR) {
      pendingDecorators.push(t);
      continue;
    }
    if (k === IS_DEF) {
      fns.push({
        name: DEF.exec(t)![1],
        at: i,
        isMethod: isDirectlyInClass(scopes),
        decorators: pendingDecorators,
        step: false,
        call: false,
        refs: new Set(),
        stepsT: false,
        trainsT: false,
      });
      scopes.push({ end: s.blockEnd, fn: fns.length - 1, isClass: false });
    } else if (k === IS_CLASS) {
      scopes.push({ end: s.blockEnd, fn: top ? top.fn : -1, isClass: true });
    } else if (k === OTHER) {
      const c = t.charCodeAt(0);
      if ((c === 102 || c === 119 || c === 97) && LOOP.test(t)) loop[i] = 1; // for, while, async
      else if (LOOP_CALL.test(t)) loop[i] = 1; // jax.lax.fori_loop(0, n, body, state): a loop over `body`
      if (t.includes('=') && t.includes('(')) {
        const a = ASSIGN_CTOR.exec(t);
        if (a) ctors.set(a[1], constructed(a[2], names));
      }
    }
    pendingDecorators = [];
  }

  // names → functions (plain functions by bare name, methods by `.name`)
  const plain = new Map<string, number[]>();
  const methods = new Map<string, number[]>();
  for (let f = 0; f < fns.length; f++) {
    const map = fns[f].isMethod ? methods : plain;
    const list = map.get(fns[f].name);
    if (list) list.push(f);
    else map.set(fns[f].name, [f]);
  }
  const localNames = new Set([...plain.keys(), ...methods.keys()]);

  // Two searches over the whole code instead of many per statement: where training words are (only those
  // statements are read closely), and where local functions are named.
  const starts = new Int32Array(n + 1);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    starts[i] = pos;
    pos += stmts[i].text.length + 1;
  }
  starts[n] = pos;
  const all = stmts.map((st) => st.text).join('\n');
  const statementAt = (offset: number, from: number) => {
    let i = from;
    while (starts[i + 1] <= offset) i++;
    return i;
  };
  // every call: the name before each "(" says whether the statement may train or step, or start a server
  const serverish = new Uint8Array(n);
  const marked = new Uint8Array(n);
  for (let p = all.indexOf('('), i = 0; p >= 0; p = all.indexOf('(', p + 1)) {
    let k = p - 1;
    while (k >= 0 && all.charCodeAt(k) === 32) k--;
    const end = k + 1;
    while (k >= 0 && isWordChar(all.charCodeAt(k))) k--;
    if (end - k - 1 < 3) continue;
    const word = all.slice(k + 1, end);
    const known = CALL_WORDS.get(word);
    if (known === undefined && !TRAINING_WORD.test(word) && !names.cliNames.has(word)) continue;
    i = statementAt(p, i);
    if (known === SERVER) serverish[i] = 1;
    else marked[i] = 1;
  }
  for (let p = all.indexOf('-='), i = 0; p >= 0; p = all.indexOf('-=', p + 2)) marked[(i = statementAt(p, i))] = 1;
  const refs: (number[] | undefined)[] = new Array(n);
  if (localNames.size) {
    const names = new RegExp(`\\b(?:${[...localNames].sort((x, y) => y.length - x.length).join('|')})\\b`, 'g');
    for (let m = names.exec(all), i = 0; m; m = names.exec(all)) {
      i = statementAt(m.index, i);
      if (kind[i] !== OTHER) continue;
      const text = stmts[i].text;
      const at = m.index - starts[i];
      if (insideQuotes(text, at)) continue;
      let b = at - 1;
      while (b >= 0 && text.charCodeAt(b) === 32) b--;
      const dotted = b >= 0 && text.charCodeAt(b) === 46;
      // `model.train()` switches a torch module to training mode: not a call of a local `train` method
      if (dotted && m[0] === 'train' && isModeSwitch(text, b, at + 5)) continue;
      const targets = (dotted ? methods : plain).get(m[0]);
      if (targets) (refs[i] ??= []).push(...targets);
    }
  }

  const step = new Uint8Array(n);
  const call: (CallEvidence | undefined)[] = new Array(n);
  const { lrNames, gradNames } = collectRateAndGradNames(stmts.map((st) => st.text));
  const handles: string[] = [];
  for (let i = 0; i < n; i++) {
    if (kind[i] !== OTHER) continue;
    const t = stmts[i].text;
    if (marked[i]) {
      if (optimisationStep(t, localNames, ctors) && (hasLoss || !/\bstep\s*\(\s*\)/.test(t))) step[i] = 1;
      call[i] = trainingCall(t, ctors, localNames, names);
    }
    if (!call[i] && (t.includes('system') || t.includes('subprocess') || t.includes('Popen') || t.includes('check_call')) && launchesTraining(source.slice(stmts[i].start, stmts[i].end), source)) {
      call[i] = { strength: 1, label: 'training command' };
    }
    if (!step[i] && FLOW_GATE.test(t) && isParameterUpdate(tree, t, stmts[i].start, stmts[i].end, lrNames, gradNames)) step[i] = 1;
    // `train_op = optimizer.minimize(loss)`: whatever runs train_op steps
    if (step[i] && owner[i] === -1) {
      const h = /^([A-Za-z_]\w*)\s*=(?!=)(.*)$/.exec(t);
      if (h && /\.\s*(?:minimize|apply_gradients)\s*\(/.test(h[2]) && !new RegExp(`\\b${h[1]}\\b`).test(h[2])) handles.push(h[1]);
    }
    const r = refs[i];
    const o = owner[i];
    if (o >= 0) {
      const f = fns[o];
      if (step[i]) f.step = true;
      if (call[i]) f.call = true;
      if (r) for (const g of r) f.refs.add(g);
    }
  }
  if (handles.length) {
    const re = new RegExp(`\\b(?:${handles.join('|')})\\b`);
    for (let i = 0; i < n; i++) {
      if (kind[i] !== OTHER || step[i] || !re.test(stmts[i].text)) continue;
      step[i] = 1;
      if (owner[i] >= 0) fns[owner[i]].step = true;
    }
  }
  // a def's decorators and header are not calls from its parent; a nested def is reached when its parent names it

  return { stmts, owner, kind, fns, step, call, refs, loop, serverish };
}

/** Is the innermost scope a class body (so that a def there is a method)? */
function isDirectlyInClass(scopes: { isClass: boolean }[]): boolean {
  return scopes.length > 0 && scopes[scopes.length - 1].isClass;
}

/** Fixed point over the call graph: `pred(f)` holds directly or through a function f refers to. */
function propagate(fns: Fn[], callers: number[][], direct: (f: Fn) => boolean, set: (f: Fn) => void, get: (f: Fn) => boolean): void {
  const work: number[] = [];
  for (let i = 0; i < fns.length; i++) {
    const f = fns[i];
    if (get(f) || direct(f)) {
      set(f);
      work.push(i);
    }
  }
  while (work.length) {
    const g = work.pop()!;
    for (const c of callers[g]) {
      if (!get(fns[c])) {
        set(fns[c]);
        work.push(c);
      }
    }
  }
}

/** Does the block of statement `at` (its own scope only) step, or train, or call something that does? */
function blockHas(x: Facts, at: number, pred: (i: number) => boolean): boolean {
  const own = x.owner[at];
  const end = x.stmts[at].blockEnd;
  for (let i = at; i <= end; i++) if (x.owner[i] === own && pred(i)) return true;
  return false;
}

function isTestModule(stmts: Statement[], kind: Uint8Array): boolean {
  let testFns = 0;
  let imports = false;
  for (let i = 0; i < stmts.length; i++) {
    const s = stmts[i];
    if (s.indent !== 0 || kind[i] === OTHER || kind[i] === IS_DECORATOR) continue;
    const t = s.text;
    if (kind[i] === IS_IMPORT) {
      if (/^(?:import|from)\s+(?:pytest|unittest|hypothesis)\b/.test(t)) imports = true;
    } else if (/^(?:async\s+)?def\s+test_\w+\s*\(/.test(t) || /^class\s+Test\w*/.test(t) || /^class\s+\w+\s*\(\s*(?:unittest\.)?TestCase\s*\)/.test(t)) {
      testFns++;
    }
  }
  return (testFns > 0 && imports) || testFns >= 3;
}

/**
 * The lines of a Python file where training starts, best first, MAX_LENSES at most. `line` is 0-based.
 */
/** A file without any of these words has no lens (most Python files): the parse is skipped. */
const CHEAP_GATE = /fit|train|step|grad|learn|update|search|CLI|cross_val|curve|minimize|fine_tune|Word2Vec|Doc2Vec|FastText|Lda|Lsi|Hdp|replay|assign_|lr|rate|alpha|eta|launch|agent|torchrun|deepspeed|horovodrun/;

export async function detectTrainingEntrypoints(source: string, opts: DetectOptions = {}): Promise<TrainingEntrypoint[]> {
  await initDetector();
  return detectTrainingEntrypointsSync(source, opts);
}

/** As detectTrainingEntrypoints, once `initDetector()` has finished (it throws before). */
export function detectTrainingEntrypointsSync(source: string, opts: DetectOptions = {}): TrainingEntrypoint[] {
  // cheap exit: a file that names nothing of training has no lens (most Python files)
  if (!CHEAP_GATE.test(source)) return [];
  const parsed = parseStatements(source);
  try {
    return detectIn(parsed, opts);
  } finally {
    parsed.tree.delete();
  }
}

function detectIn(parsed: ParsedSource, opts: DetectOptions): TrainingEntrypoint[] {
  const max = opts.maxLenses ?? MAX_LENSES;
  const x = analyse(parsed);
  const { stmts, owner, fns, loop } = x;
  const n = stmts.length;
  if (isTestModule(stmts, x.kind)) return [];

  // what steps and what trains, through calls
  const refsStep = (i: number) => (x.refs[i] ?? []).some((g) => fns[g].stepsT);
  const callers: number[][] = fns.map(() => []);
  fns.forEach((f, i) => f.refs.forEach((g) => callers[g].push(i)));
  propagate(fns, callers, (f) => f.step || f.call, (f) => (f.stepsT = true), (f) => f.stepsT);
  const stepsOrTrains = (i: number) => x.step[i] === 1 || x.call[i] !== undefined || refsStep(i);
  const trainingLoop = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (loop[i] && blockHas(x, i, stepsOrTrains)) trainingLoop[i] = 1;
  for (let i = 0; i < n; i++) if (trainingLoop[i] && owner[i] >= 0) fns[owner[i]].trainsT = true;
  propagate(fns, callers, (f) => f.call || f.trainsT, (f) => (f.trainsT = true), (f) => f.trainsT);
  const refsTrain = (i: number) => (x.refs[i] ?? []).some((g) => fns[g].trainsT);

  // what runs: module-level statements, and what they reach
  const reachable = new Uint8Array(fns.length);
  const reach: number[] = [];
  const mark = (g: number) => {
    if (!reachable[g]) {
      reachable[g] = 1;
      reach.push(g);
    }
  };
  let hasMainGuard = false;
  let server = false;
  // `app.run(main)` is absl's runner (a local function as its argument), not a web server
  const startsServer = (t: string) => {
    if (!SERVER_RUN.test(t)) return false;
    const absl = /\bapp\s*\.\s*run\s*\(\s*([A-Za-z_]\w*)\s*[,)]/.exec(t);
    return !(absl && fns.some((f) => f.name === absl[1]));
  };
  for (let i = 0; i < n; i++) {
    if (owner[i] !== -1) continue;
    const t = stmts[i].text;
    if (t.charCodeAt(0) === 105 && t.includes('__main__') && MAIN_GUARD.test(t)) hasMainGuard = true;
    if (x.serverish[i] && (SERVER_CREATE.test(t) || startsServer(t))) server = true;
    for (const g of x.refs[i] ?? []) mark(g);
  }
  // click/typer commands run from the main block (`app()`, `cli()`): they are entry points of their own
  let cliTrains = false;
  if (hasMainGuard) {
    fns.forEach((f, i) => {
      if (!f.decorators.some((d) => CLI_COMMAND_DECORATOR.test(d))) return;
      mark(i);
      if (f.trainsT) cliTrains = true;
    });
  }
  while (reach.length) {
    const f = reach.pop()!;
    for (const g of fns[f].refs) mark(g);
  }
  for (let i = 0; i < n && !server; i++) {
    if (x.serverish[i] && owner[i] >= 0 && reachable[owner[i]] && startsServer(stmts[i].text)) server = true;
  }
  if (server) return [];
  // functions called from training loops are steps of those loops, and so is what they call
  const inner = new Uint8Array(fns.length);
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!trainingLoop[i]) continue;
    const own = owner[i];
    for (let k = i; k <= stmts[i].blockEnd; k++) {
      if (owner[k] !== own) continue;
      for (const g of x.refs[k] ?? []) if (!inner[g]) (inner[g] = 1), stack.push(g);
    }
  }
  while (stack.length) for (const g of fns[stack.pop()!].refs) if (!inner[g]) (inner[g] = 1), stack.push(g);

  // candidates
  interface Candidate extends TrainingEntrypoint {
    at: number;
    end: number;
    points: number;
  }
  const cands: Candidate[] = [];
  const add = (at: number, kind: EntrypointKind, points: number, label: string) =>
    cands.push({ at, end: stmts[at].blockEnd, line: stmts[at].line, kind, points, score: points / 100, label });
  const trainsHere = (i: number) => x.call[i] !== undefined || refsTrain(i) || trainingLoop[i] === 1;

  for (let i = 0; i < n; i++) {
    const o = owner[i];
    const t = stmts[i].text;
    if (x.kind[i] !== OTHER) continue;
    if (o === -1) {
      if (t.charCodeAt(0) === 105 && t.includes('__main__') && MAIN_GUARD.test(t)) {
        if (cliTrains || blockHas(x, i, trainsHere)) add(i, 'main', 100, 'main block');
      } else if (trainingLoop[i]) add(i, 'loop', EPOCH_LOOP.test(t) ? 92 : 90, 'training loop');
      else if (x.call[i]) add(i, 'call', x.call[i]!.strength === 2 ? 88 : 86, x.call[i]!.label);
      else if (refsTrain(i)) {
        const g = x.refs[i]!.find((k) => fns[k].trainsT)!;
        add(i, 'call', 84, `${fns[g].name}()`);
      }
    } else if (!opts.notebook && reachable[o] && !inner[o]) {
      if (trainingLoop[i]) add(i, 'loop', EPOCH_LOOP.test(t) ? 68 : 66, 'training loop');
      else if (x.call[i]) add(i, 'call', x.call[i]!.strength === 2 ? 64 : 56, x.call[i]!.label);
    }
  }
  if (!opts.notebook) {
    fns.forEach((f, k) => {
      if (!reachable[k] || inner[k] || !f.trainsT) return;
      if (!TRAIN_NAME.test(f.name) && !/train|fit/i.test(f.name)) return;
      if (NOT_TRAIN_NAME.test(f.name) || STEP_NAME.test(f.name) || /epoch|step|batch|^test/i.test(f.name)) return;
      add(f.at, 'function', 75, `${f.name}()`);
    });
  }

  cands.sort((a, b) => b.points - a.points || a.at - b.at);
  const chosen: Candidate[] = [];
  for (const c of cands) {
    if (chosen.length >= max) break;
    if (chosen.some((s) => (c.at >= s.at && c.at <= s.end) || (s.at >= c.at && s.at <= c.end))) continue;
    chosen.push(c);
  }
  return chosen.map(({ line, kind, score, label }) => ({ line, kind, score, label }));
}
