/**
 * Evidence of training on one statement's text (a logical line, strings blanked, see python.ts): training calls
 * (`trainer.fit(…)`, `trainer.train()`, `model.fit(…)` on a model rather than a scaler, `xgb.train(…)`,
 * `learn.fine_tune(…)`, `cross_val_score(…)`, a call to an imported `train_model(…)`), optimisation steps
 * (`optimizer.step()`, `state.apply_gradients(…)`, `optax.apply_updates(…)`, `w -= lr * w.grad`,
 * `model.train_on_batch(…)`, a call to an imported `train_one_epoch(…)`), commands that train
 * (`os.system("torchrun train.py")`) and web servers. Pure functions of the text and of what the file's names hold
 * (facts.ts gathers those); the tree is not read here.
 */
import { MATRIX_PRODUCT, type FileNames } from './flow';

// ------------------------------------------------------------------------------------------------------------------
// Evidence on one statement's text

export const MAIN_GUARD = /^if\s*\(?\s*(?:__name__\s*==\s*"__main__"|"__main__"\s*==\s*__name__)\s*\)?\s*:/;
export const DEF = /^(?:async\s+)?def\s+([A-Za-z_]\w*)/;
export const LOOP = /^(?:async\s+)?(?:for|while)\b/;
export const EPOCH_LOOP =
  /^(?:async\s+)?(?:for\b[^:]*\b(?:epochs?|ep|steps?|global_step|iterations?|iters?|rounds?|updates?|episodes?)\b|while\b)/;

/** Optimiser-like receivers of `.step(` (not schedulers, not environments). */
const STEP_RECEIVER = /opt|scaler|engine|trainer|^svi/i;
/** What an optimiser is built from: `adam = torch.optim.Adam(…)`; Pyro's and NumPyro's `SVI(model, guide, optim, loss)`. */
export const OPTIMIZER_CLASS =
  /optim|^(?:Adam\w*|SGD|RMSprop|Adagrad|Adadelta|Adamax|NAdam|RAdam|LBFGS|Lion|Lamb|LAMB|Adafactor|Sophia\w*|Shampoo|Muon|SVI)$/;
/**
 * What a name holds when it is an optimiser over inputs rather than weights (`LBFGS([input_img])` in style transfer,
 * `Adam([z])` in a GAN inversion): its steps change an image or a latent, the network stays as it was.
 */
export const INPUT_OPTIMISER = '~inputs';
/** Names of optimised inputs: images, latents, perturbations. */
const OPTIMISED_INPUT = /img|image|input|noise|latent|delta|perturb|adv|canvas|pixel|dream|^x$|^z$|^generated/i;

/** `Ctor([a, b], …)`: does an optimiser's parameter list hold inputs only (see INPUT_OPTIMISER)? */
export function optimisesInputs(args: string): boolean {
  const list = /^\s*\[\s*([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*,?\s*\]/.exec(args);
  return !!list && list[1].split(',').every((n) => OPTIMISED_INPUT.test(lastSegment(n.trim())));
}
/** Stable-Baselines3 and sb3-contrib algorithms: `model.learn(N)` trains. */
const RL_ALGORITHM =
  /^(?:PPO|A2C|SAC|TD3|DQN|DDPG|TRPO|ARS|QRDQN|TQC|CrossQ|RecurrentPPO|MaskablePPO|HerReplayBuffer)$/;
/** RL agents and learners: `agent.step(state, action, reward, next_state, done)`, `agent.replay(32)`, `agent.learn()`. */
const AGENT_RECEIVER = /agent|learner/i;
const AGENT_LEARN =
  /\.\s*(?:(?:step|update|train_step)\s*\(\s*[^)\s]|(?:replay|learn|optimize_model|optimize|train_model|experience_replay)\s*\()/;
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
  ['svi', /\bsvi\w*\s*\.\s*(?:step|update|evaluate_loss_and_update)\s*\(/i],
];
/** A statement without any of these cannot step. */
const STEP_GATE =
  /step|svi|grad|apply_updates|minimize|train_on_batch|partial_fit|-=|lambda|nlp|epoch|batch|iter|replay|learn|optimize/;
/** A statement without any of these cannot train. */
const TRAIN_GATE =
  /fit|train|learn|tune|LightningCLI|search|cross_val|_curve|Word2Vec|Doc2Vec|FastText|Lda|Lsi|Hdp|launch|spawn|agent|\(/;

/** Functions that do one step of training when called (imported from elsewhere; local ones are read). */
export const STEP_NAME =
  /^(?:train_(?:one_)?epoch|train_step|train_batch|training_step|train_iter(?:ation)?|run_epoch|fit_epoch|train_on_batch|update_step|sgd_step|learn_step)$/;
const STEP_CALL =
  /(?:^|[^\w])(train_(?:one_)?epoch|train_step|train_batch|training_step|train_iter(?:ation)?|run_epoch|fit_epoch|train_on_batch|update_step|sgd_step|learn_step)\s*\(/g;
const TRAIN_CALL =
  /(^|[^\w])((?:train|fit|finetune|fine_tune|pretrain)\w*|\w+_(?:train|finetune|fine_tune|pretrain)|run_train\w*|do_train)\s*\(/g;
/** Functions that train when called (imported from elsewhere; local ones are read). */
export const TRAIN_NAME =
  /^(?:(?:train|fit|finetune|fine_tune|pretrain)(?:_\w+)?|\w+_(?:train|finetune|fine_tune|pretrain)|run_train\w*|do_train)$/;
/** Names that look like training and are not: data splits, loaders, transforms, step helpers. */
export const NOT_TRAIN_NAME =
  /split|loader|dataset|data|transform|path|dir$|files?$|size|idx|indices|index|mask|label|sampler|config|cfg|args|_df$|_ds$|_x$|_y$|_set$|_sets$|_gen$|generator|features|texts?$|images|examples|_ids$|new_from_iterator|_loss(?:es)?$|_acc(?:uracy)?$|_metrics?$|_scores?$|_time$|_hist(?:ory)?$|writer|_log$|^fit_(?:predict|resample|on_)/i;

/** Classes and receivers that are preprocessing, not models: `scaler.fit(X)` prepares data. */
const PREPROCESSING =
  /scaler|encoder|enc$|^enc|vectori[sz]er|^vec|tfidf|imputer|^pca|svd|tokeni[sz]er|normali[sz]er|binari[sz]er|discreti[sz]er|poly|selector|selectkbest|variancethreshold|columntransformer|functiontransformer|quantiletransformer|powertransformer|kfold|splitter|tsne|umap|isomap|nystroem|rbfsampler|preprocess|^prep|^ohe$|^le$|^mlb$|^ct$|reducer/i;
const MODEL_LIKE =
  /model|net\b|net$|network|clf|classif|regress|estimator|pipe|search|grid|^gs$|^rs$|forest|boost|xgb|lgb|gbm|catboost|^rf$|svc|svr|svm|^knn|kneighbors|tree|booster|ensemble|stack|vot|^lr$|logreg|logistic|linear|ridge|lasso|elastic|bayes|^nb$|perceptron|mlp|autoencoder|^ae$|vae|gan|tuner|agent|learner|kmeans|means|cluster|prophet|arima|sarimax|sequential|transformer$|^m$|^clf|^reg$|^(?:ols|wls|gls|glm|logit|probit|mnlogit|mixedlm|quantreg|rlm)$|smoothing|holt|unobservedcomponents|varmax|mixture|^gmm$|^hmm$|isolationforest/i;
const TRAIN_ARGS =
  /\bepochs?\s*=|\b[xX]_?train\b|\btrain_(?:ds|dataset|data|loader|dataloader|gen|generator|x|X|y)\b|\bcallbacks\s*=|\bvalidation_data\s*=|\bvalidation_split\s*=|\bdatamodule\b|\btrain_dataloaders\s*=|\bsteps_per_epoch\s*=|\bbatch_size\s*=/;
const TREE_TRAIN_RECEIVER =
  /trainer|^xgb$|xgboost|^lgb$|lightgbm|booster|catboost|tuner|runner|^algo|algorithm|agent|learner|solver/i;
/** Tokenizer trainers (BPE, WordPiece, SentencePiece): a vocabulary, not model parameters. */
const TOKENIZER = /tokeni[sz]er|sentencepiece|^spm$|bpe|wordpiece|unigram|wordlevel|vocab/i;
/** gensim models train when built on a corpus: `Word2Vec(sentences, …)`, `LdaMulticore(corpus=bow, …)`. */
const GENSIM_TRAINING =
  /\b(Word2Vec|Doc2Vec|FastText|LdaModel|LdaMulticore|LsiModel|HdpModel)\s*\(\s*(?!\)|[A-Za-z_]\w*\s*=(?!=))|\b(Word2Vec|Doc2Vec|FastText|LdaModel|LdaMulticore|LsiModel|HdpModel)\s*\([^)]*\b(?:sentences|corpus|documents|corpus_file|corpus_iterable)\s*=/;
/** Launchers that run a function in workers: `notebook_launcher(training_loop, …)`, `launch(main, …)`. */
const LAUNCHER_CALL =
  /\b(?:notebook_launcher|spawn|launch|start_processes|agent|submit|map_array)\s*\(\s*(?:[^,()]*,\s*function\s*=\s*)?([A-Za-z_]\w*)|\b(?:Process|Thread)\s*\([^()]*?\btarget\s*=\s*([A-Za-z_]\w*)/;
const FIT_LIKE_METHODS = /\.\s*(fit_one_cycle|fine_tune|fit_flat_cos|fit_sgdr|fit_generator|train_model)\s*\(/;

export interface CallEvidence {
  /** 2 strong (a trainer, a model, a known launcher), 1 weak (an imported function with a training name). */
  strength: 1 | 2;
  label: string;
}

/** `name = Ctor(…)` and `self.name = Ctor(…)` across the file: what each name holds. */
export type Constructors = Map<string, string>;

const MODULE_RECEIVER =
  /model|net|module|encoder|decoder|backbone|policy|critic|actor|generator|discriminator|head|^[gd]$/i;
export const ASSIGN_CTOR = /^(?:self\s*\.\s*)?([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*([A-Za-z_][\w.]*)\s*\(/;

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

/** The argument text of the call whose `(` is at `open` (to the matching bracket, or the end), trimmed. */
export function argsAt(text: string, open: number): string {
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
export function constructed(callee: string, names?: FileNames): string {
  const parts = callee.split('.');
  let last = parts[parts.length - 1];
  if (
    parts.length > 1 &&
    /^(?:from_\w+|build|create|load|make|setup)$/.test(last) &&
    /^[A-Z]/.test(parts[parts.length - 2])
  )
    last = parts[parts.length - 2];
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
export function trainingCall(
  text: string,
  ctors: Constructors = new Map(),
  local: ReadonlySet<string> = new Set(),
  names?: FileNames,
): CallEvidence | undefined {
  if (!TRAIN_GATE.test(text)) return undefined;
  let best: CallEvidence | undefined;
  const consider: Consider = (e) => {
    if (!best || e.strength > best.strength) best = e;
  };
  fitAndTrainCalls(text, ctors, consider);
  frameworkRunners(text, ctors, local, names, consider);
  if (best || !/train|fit|tune/.test(text)) return best;
  namedTrainingCalls(text, ctors, local, consider);
  return best;
}

type Consider = (e: CallEvidence) => void;

/** `x.fit(…)` on a model, `x.train(…)` with real arguments (not torch's mode switch), `Trainer(…).train()`. */
function fitAndTrainCalls(text: string, ctors: Constructors, consider: Consider): void {
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
          consider({
            strength:
              TRAIN_ARGS.test(args) || /\bdata\s*=|num_boost_round|dtrain|train_set|total_examples/.test(args) ? 2 : 1,
            label: `${receiver}.train()`,
          });
        }
      }
    }
    if (/\bTrainer\s*\(.*\)\s*\.\s*(?:fit|train)\s*\(/.test(text))
      consider({ strength: 2, label: 'Trainer().train()' });
  }
}

/** Runners that train in one call: Keras-like fits, LightningCLI, gensim, launchers, SB3, SVI, Ignite, PyCaret, Ray. */
function frameworkRunners(
  text: string,
  ctors: Constructors,
  local: ReadonlySet<string>,
  names: FileNames | undefined,
  consider: Consider,
): void {
  const fm = FIT_LIKE_METHODS.exec(text);
  if (fm) consider({ strength: 2, label: `${receiverAt(text, fm.index)}.${fm[1]}()` });
  if (/\bLightningCLI\s*\(/.test(text)) consider({ strength: 2, label: 'LightningCLI()' });
  if (names?.cliNames.size && text.includes('(')) {
    for (const cli of names.cliNames)
      if (new RegExp(`(?:^|[^\\w.])${cli}\\s*\\(`).test(text) && !/^class\s/.test(text))
        consider({ strength: 2, label: `${cli}()` });
  }
  const gensim = GENSIM_TRAINING.exec(text);
  if (gensim) consider({ strength: 2, label: `${gensim[1] ?? gensim[2]}()` });
  const launched = LAUNCHER_CALL.exec(text);
  const target = launched && (launched[1] ?? launched[2]);
  if (target && !local.has(target) && /train/i.test(target) && !NOT_TRAIN_NAME.test(target))
    consider({ strength: 1, label: `${target}()` });
  if (/\btuner\s*\.\s*search\s*\(/.test(text)) consider({ strength: 2, label: 'tuner.search()' });
  const learn = /\.\s*learn\s*\(\s*(total_timesteps|\d|[A-Z][A-Z\d_]*\b|[\w.]*steps\b)?/.exec(text);
  if (learn) {
    // Stable-Baselines3: `model.learn(total_timesteps=…)`, `model.learn(TIMESTEPS)`, or on an algorithm it built
    const recv = receiverAt(text, learn.index);
    if (learn[1] || RL_ALGORITHM.test(holds(recv, ctors))) consider({ strength: 2, label: `${recv}.learn()` });
  }
  // Pyro's and NumPyro's whole optimisation in one call: `svi.run(rng_key, 2000, X, y)`
  const svi = /\.\s*run\s*\(/.exec(text);
  if (svi) {
    const recv = receiverAt(text, svi.index);
    if (/^svi/i.test(recv) || holds(recv, ctors) === 'SVI') consider({ strength: 2, label: `${recv}.run()` });
  }
  // Ignite: `trainer.run(train_loader, max_epochs=10)` on a trainer engine
  const run = /\.\s*run\s*\(\s*[^)\s]/.exec(text);
  if (run) {
    const recv = receiverAt(text, run.index);
    if (/trainer/i.test(recv) || /trainer/i.test(holds(recv, ctors))) consider({ strength: 2, label: `${recv}.run()` });
  }
  // PyCaret: every model compared or tuned is trained
  const automl = /\b(compare_models|tune_model|blend_models|stack_models|ensemble_model)\s*\(/.exec(text);
  if (automl && !local.has(automl[1])) consider({ strength: 1, label: `${automl[1]}()` });
  // Ray Tune's runner of trainables: `tune.run(train_fn, config=…)`
  if (/\btune\s*\.\s*run\s*\(/.test(text)) consider({ strength: 2, label: 'tune.run()' });
  const cv = /\b(cross_val_score|cross_validate|cross_val_predict|learning_curve|validation_curve)\s*\(/.exec(text);
  if (cv) consider({ strength: 1, label: `${cv[1]}()` });
}

/** Imported functions with a training name: `train_model(cfg)`, `engine.finetune(…)`. */
function namedTrainingCalls(text: string, ctors: Constructors, local: ReadonlySet<string>, consider: Consider): void {
  const named = TRAIN_CALL;
  named.lastIndex = 0;
  for (let m = named.exec(text); m; m = named.exec(text)) {
    const name = m[2];
    if (
      local.has(name) ||
      ctors.has(name) ||
      !TRAIN_NAME.test(name) ||
      NOT_TRAIN_NAME.test(name) ||
      STEP_NAME.test(name)
    )
      continue;
    const dotted = m[1] === '.';
    if (dotted && (name === 'train' || name === 'fit')) continue; // judged above
    if (/^(?:def|class)\s/.test(text)) continue;
    consider({ strength: 1, label: `${name}()` });
  }
}

/** An optimisation step on this statement? */
export function optimisationStep(
  text: string,
  local: ReadonlySet<string> = new Set(),
  ctors: Constructors = new Map(),
  localClasses?: ReadonlySet<string>,
): boolean {
  if (!STEP_GATE.test(text)) return false;
  if (text.includes('step')) {
    const re = /([\w[\]().]+)\s*\.\s*step\s*\(/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const recv = lastSegment(m[1].replace(/\[[^\]]*\]|\([^)]*\)/g, '').replace(/\.+$/, ''));
      if (NOT_STEP_RECEIVER.test(recv) || holds(recv, ctors) === INPUT_OPTIMISER) continue;
      if (STEP_RECEIVER.test(recv) || OPTIMIZER_CLASS.test(holds(recv, ctors))) return true;
    }
  }
  for (const [needle, p] of STEP_PATTERNS) if (text.includes(needle) && p.test(text)) return true;
  const agent = AGENT_LEARN.exec(text);
  if (agent) {
    // an agent of a class defined in the file is read from its methods (a random baseline's `step` learns nothing)
    const recv = receiverAt(text, agent.index);
    const what = holds(recv, ctors);
    if (AGENT_RECEIVER.test(recv) && !localClasses?.has(what) && !/random/i.test(what) && !/random/i.test(recv))
      return true;
  }
  if (!/epoch|step|batch|iter/.test(text)) return false;
  STEP_CALL.lastIndex = 0;
  for (let m = STEP_CALL.exec(text); m; m = STEP_CALL.exec(text)) if (!local.has(m[1])) return true;
  return false;
}

export const SERVER_CREATE =
  /^(?:[A-Za-z_]\w*)\s*=\s*(?:[\w.]*\.)?(?:Flask|FastAPI|Starlette|Sanic|Quart|Bottle|Litestar|APIRouter)\s*\(|^(?:[A-Za-z_]\w*)\s*=\s*gr\s*\.\s*(?:Interface|Blocks|ChatInterface)\s*\(/;
export const SERVER_RUN =
  /\b(?:uvicorn|waitress|hypercorn|socketio|web)\s*\.\s*(?:run|serve|run_app)\s*\(|\b(?:app|application|server|httpd|demo|iface|interface|ui)\s*\.\s*(?:run|launch|serve|serve_forever)\s*\(|\bst\s*\.\s*(?:title|write)\s*\(/;
export const CLI_COMMAND_DECORATOR = /^@\s*[\w.]*\b(?:command|main|callback)\b/;

/** Loops written as calls: `jax.lax.fori_loop`, `lax.scan`, `lax.while_loop`. */
export const LOOP_CALL = /\b(?:fori_loop|scan|while_loop)\s*\(/;
/** Statements that may update a parameter by hand (read from the tree only then). */
export const FLOW_GATE = /(?:[-+]=|=[^=].*[-+]|assign_(?:sub|add)|lambda|^return\b.*[-+])/;
export const TRAINING_WORD =
  /^(?:train|fit|finetune|fine_tune|pretrain|cross_val|run_train|do_train)|_curve$|_(?:train|finetune|fine_tune|pretrain)$/;

export function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

/** Is position `at` of a statement inside a kept string literal ("__main__", "train")? */
export function insideQuotes(text: string, at: number): boolean {
  let quotes = 0;
  for (let k = text.indexOf('"'); k >= 0 && k < at; k = text.indexOf('"', k + 1)) quotes++;
  return quotes % 2 === 1;
}

/** `recv.train()`, `recv.train(False)` with a torch-module receiver ending before `dot`, arguments from `after`. */
export function isModeSwitch(text: string, dot: number, after: number): boolean {
  if (!/^\s*\(\s*(?:True|False|mode\s*=\s*\w+|not\s+\w+)?\s*\)/.test(text.slice(after, after + 40))) return false;
  let k = dot - 1;
  while (k >= 0 && text.charCodeAt(k) === 32) k--;
  const end = k + 1;
  while (k >= 0 && /\w/.test(text[k])) k--;
  return MODULE_RECEIVER.test(text.slice(k + 1, end));
}

export const TRAINS = 1;
export const SERVER = 2;
const BOTH = TRAINS | SERVER;
/**
 * Names of calls without which a statement neither steps nor trains (see optimisationStep and trainingCall; with
 * TRAINING_WORD and `-=`), or creates or starts a web server.
 */
export const CALL_WORDS = new Map<string, number>([
  ...[
    'step',
    'apply_gradients',
    'update',
    'minimize',
    'train_on_batch',
    'partial_fit',
    'sub_',
    'add_',
    'search',
    'learn',
    'apply_updates',
    'LightningCLI',
    'run_epoch',
    'update_step',
    'sgd_step',
    'learn_step',
    'optimizer_step',
    'map',
    'tree_map',
    'Word2Vec',
    'Doc2Vec',
    'FastText',
    'LdaModel',
    'LdaMulticore',
    'LsiModel',
    'HdpModel',
    'notebook_launcher',
    'spawn',
    'launch',
    'start_processes',
    'agent',
    'replay',
    'optimize_model',
    'optimize',
    'experience_replay',
    'submit',
    'map_array',
    'Process',
    'Thread',
    'compare_models',
    'tune_model',
    'blend_models',
    'stack_models',
    'ensemble_model',
  ].map((w) => [w, TRAINS] as [string, number]),
  ...[
    'Flask',
    'FastAPI',
    'Starlette',
    'Sanic',
    'Quart',
    'Bottle',
    'Litestar',
    'APIRouter',
    'Interface',
    'Blocks',
    'ChatInterface',
    'serve',
    'serve_forever',
    'run_app',
    'title',
    'write',
  ].map((w) => [w, SERVER] as [string, number]),
  // `svi.run(…)` and `tune.run(…)` train, `app.run()` serves; `launch(main, …)` runs workers, `demo.launch()` serves
  ['run', BOTH],
  ['launch', BOTH],
]);

/**
 * A file without any of these words, or a matrix product (`X.T @ r`, `x @ w`), has no lens (most Python files): the
 * parse is skipped.
 */
const CHEAP_GATE = new RegExp(
  [
    /fit|train|step|grad|learn|update|search|CLI|cross_val|curve|minimize|fine_tune|finetune|epoch|Word2Vec|Doc2Vec/,
    /FastText|Lda|Lsi|Hdp|replay|assign_|lr|rate|alpha|eta|launch|agent|torchrun|deepspeed|horovodrun|distributed/,
    /submit|svi|SVI|sbatch|srun|_models?\s*\(/,
    MATRIX_PRODUCT,
  ]
    .map((r) => r.source)
    .join('|'),
);

/** Could a file with this text get a lens at all? Most Python files cannot, and are not parsed. */
export function mayTrain(source: string): boolean {
  return CHEAP_GATE.test(source);
}
