/**
 * Rules that follow the data through the syntax tree, for training written by hand or behind generic names:
 *
 * - a parameter updated from a gradient or with a learning rate, whatever the names: `W1 += -lr * dW1`,
 *   `m = m - lr * dm`, `p.data += -lr * p.grad`, `[(w - lr * dw, b - lr * db) for …]`, `Q[s, a] = Q[s, a] + alpha * …`,
 *   `tree_map(lambda p, g: p - lr * g, …)`, `W.assign_sub(lr * dW)`, `W -= 0.01 * X.T @ resid` (a literal step along a
 *   transposed product). What is updated must not be an input (an image
 *   in an attack or DeepDream, the `x` of a lecture's parabola): those leave every weight as it was.
 * - what a name holds, through imports (`from x import A as B`), local subclasses (`class MyCLI(LightningCLI)`) and
 *   factory calls (`Runner.from_cfg(cfg)` holds a `Runner`).
 *
 * Only statements whose text passes a cheap gate are read from the tree.
 */
import type { Node, Tree } from 'web-tree-sitter';

/** Names of a learning rate or step size. */
export const LR_NAME =
  /^(?:lr|alpha|eta|step_size|stepsize|learning_rate|learningrate|lr_\w+|\w+_lr|\w*learning_rate\w*)$/i;
/** Names of what training does not update: inputs, images, perturbations, the `x` of a function being minimised. */
const INPUT_NAME =
  /^(?:x|xs|x_adv|img|imgs|image|images|input|inputs|delta|noise|z|latent|adv|perturbation|pert|sample|samples|pos|position|positions|vel|velocity|t|time)$/i;
/** A statement's text that may hold an update: an augmented assignment, or an assignment with a sum or difference. */
const UPDATE_GATE = /[-+]=|=[^=][^\n]*[-+]|assign_(?:sub|add)\s*\(|^return\b.*[-+]/;

/** The base name of an assignment target: `self.w_` → "w_", `p.data` → "p", `W[1:]` → "W", `params[k]` → "params". */
export function baseName(target: string): string {
  let t = target.replace(/\s+/g, '');
  t = t.replace(/\[.*$/, '');
  t = t.replace(/\.data$/, '');
  const k = t.lastIndexOf('.');
  return k >= 0 ? t.slice(k + 1) : t;
}

/** Does an expression's text refer to a gradient of `base` (or to any gradient)? */
function mentionsGradient(expr: string, base: string, gradNames: ReadonlySet<string>): boolean {
  if (/grad/i.test(expr)) return true;
  const ids = expr.match(/[A-Za-z_]\w*/g) ?? [];
  const b = base.toLowerCase();
  for (const id of ids) {
    const l = id.toLowerCase();
    if (gradNames.has(id)) return true;
    if (b && (l === `d${b}` || l === `d_${b}` || l === `${b}_grad` || l === `g${b}` || l === `g_${b}`)) return true;
  }
  return false;
}

/** A gradient computed by hand: a product with a transposed matrix (`X.T @ r`, `np.dot(X.T, p - y)`, `xb.T.dot(e)`). */
export const TRANSPOSED_PRODUCT =
  /\.T\s*(?:@|\.dot\s*\()|\b(?:np|numpy|jnp)\.(?:dot|matmul)\s*\(\s*[\w.[\]]+\.T\b|\.transpose\(\)\s*(?:@|\.dot\s*\()/;
/** A matrix product, not a decorator: `x @ w`, `np.dot(a, b)`, `a.dot(b)`, `matmul(`. */
export const MATRIX_PRODUCT = /[\w)\]]\s*@\s*[\w(]|\.dot\s*\(|\bmatmul\s*\(/;
/** A step written as a number below 1 that multiplies the update: `0.01 *`, `1e-3 *`, `.5*`. */
const LITERAL_STEP = /(?:^|[\s(*+-])((?:\d+\.\d*|\.\d+|\d+)(?:e-?\d+)?)\s*\*/gi;

/**
 * `W -= 0.01 * X.T @ resid / n`, `w = w - 0.0001 * (x @ w - y)`: descent by a literal step along a gradient computed
 * by hand (a transposed product, or a product with the updated parameter itself), whatever the names. A Kalman
 * filter's `P - K @ H @ P` has no literal step; a simulation's `vel -= 0.001 * K @ pos` updates an input, from
 * something else.
 */
function handGradientStep(expr: string, base: string): boolean {
  const product =
    TRANSPOSED_PRODUCT.test(expr) || (MATRIX_PRODUCT.test(expr) && new RegExp(`\\b${escape(base)}\\b`).test(expr));
  if (!product) return false;
  for (const m of expr.matchAll(LITERAL_STEP)) {
    const v = Number(m[1]);
    if (v > 0 && v < 1) return true;
  }
  return false;
}

function mentionsRate(expr: string, lrNames: ReadonlySet<string>): boolean {
  const ids = expr.match(/[A-Za-z_]\w*/g) ?? [];
  return ids.some((id) => LR_NAME.test(id) || lrNames.has(id));
}

/** Names assigned from an expression with a learning rate (`update = lr * (target - y)`), and from a gradient call. */
export function collectRateAndGradNames(texts: readonly string[]): { lrNames: Set<string>; gradNames: Set<string> } {
  const lrNames = new Set<string>();
  const gradNames = new Set<string>();
  for (const t of texts) {
    const m = /^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=\s*([^=].*)$/.exec(t);
    if (!m) continue;
    const names = m[1].split(',').map((s) => s.trim());
    const rhs = m[2];
    if (/grad|gradient|backward/i.test(rhs) && /\(/.test(rhs)) for (const n of names) gradNames.add(n);
    else if (names.length === 1 && mentionsRate(rhs, new Set()) && /[*]/.test(rhs)) lrNames.add(names[0]);
  }
  return { lrNames, gradNames };
}

/**
 * Is this statement (character range in the tree) a parameter update of gradient descent, or of a rule with a
 * learning rate? `lrNames`, `gradNames`: see collectRateAndGradNames.
 */
export function isParameterUpdate(
  tree: Tree,
  text: string,
  start: number,
  end: number,
  lrNames: ReadonlySet<string>,
  gradNames: ReadonlySet<string>,
): boolean {
  if (!UPDATE_GATE.test(text) && !text.includes('lambda')) return false;
  const stmt = tree.rootNode.descendantForIndex(start, Math.max(start, end - 1));
  if (!stmt) return false;
  let node: Node | null = stmt;
  // the statement itself: climb while the parent spans exactly the same text (an assignment in its expression_statement)
  while (
    node.parent &&
    node.parent.startIndex === node.startIndex &&
    node.parent.endIndex === node.endIndex &&
    node.parent.type !== 'block' &&
    node.parent.type !== 'module'
  )
    node = node.parent;
  if (!node) return false;
  if (node.type === 'return_statement' && returnedUpdate(node, gradNames)) return true;
  for (const n of node.descendantsOfType(['augmented_assignment', 'assignment', 'lambda', 'call'])) {
    if (!n) continue;
    if (n.type === 'augmented_assignment' && augmentedUpdate(n, lrNames, gradNames)) return true;
    if (n.type === 'assignment' && assignedUpdate(n, lrNames, gradNames)) return true;
    if (n.type === 'lambda' && lambdaUpdate(n)) return true;
    if (n.type === 'call' && assignSub(n, lrNames, gradNames)) return true;
  }
  return false;
}

/** `W1 += -lr * dW1`, `w -= lr * grad_w`, `w[1:] += update * xi` (update from a learning rate). */
function augmentedUpdate(n: Node, lrNames: ReadonlySet<string>, gradNames: ReadonlySet<string>): boolean {
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  const op = n.childForFieldName('operator')?.text ?? n.children.find((c) => c && /^[-+]=$/.test(c.type))?.type ?? '';
  if (!left || !right || (op !== '-=' && op !== '+=')) return false;
  const base = baseName(left.text);
  if (INPUT_NAME.test(base)) return false;
  const r = right.text;
  if (op === '-=')
    return (
      mentionsGradient(r, base, gradNames) || (mentionsRate(r, lrNames) && /\*/.test(r)) || handGradientStep(r, base)
    );
  // `+=` adds a negative step (`+= -lr * g`), or a rule's update with a learning rate (`+= update * xi`)
  return (
    /\*/.test(r) && (mentionsRate(r, lrNames) || (mentionsGradient(r, base, gradNames) && /(?:^|[(*\s])-/.test(r)))
  );
}

/** `m = m - lr * dm`, `params = [(w - lr * dw, …) for …]`, `Q[s, a] = Q[s, a] + alpha * (…)`. */
function assignedUpdate(n: Node, lrNames: ReadonlySet<string>, gradNames: ReadonlySet<string>): boolean {
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (!left || !right) return false;
  const target = baseName(left.text);
  if (INPUT_NAME.test(target)) return false;
  for (const b of right.descendantsOfType('binary_operator')) {
    if (!b) continue;
    const op = b.childForFieldName('operator')?.text;
    if (op !== '-' && op !== '+') continue;
    const l = b.childForFieldName('left');
    const r = b.childForFieldName('right');
    if (!l || !r || !/^(?:identifier|attribute|subscript)$/.test(l.type)) continue;
    const base = baseName(l.text);
    if (INPUT_NAME.test(base)) continue;
    // the updated value is the target itself, or an element of a comprehension over it
    const sameAsTarget = base === target || right.type.endsWith('comprehension') || right.type === 'call';
    if (!sameAsTarget) continue;
    const rt = r.text;
    if (
      op === '-' &&
      (mentionsGradient(rt, base, gradNames) ||
        (/\*/.test(rt) && mentionsRate(rt, lrNames)) ||
        handGradientStep(rt, base))
    )
      return true;
    if (op === '+' && /\*/.test(rt) && mentionsRate(rt, lrNames) && base === target) return true;
  }
  // `w = (1 - eta * lam) * w + eta * y[i] * X[i]`: the target from itself, with a learning rate
  const rt = right.text;
  return (
    right.type === 'binary_operator' &&
    new RegExp(`\\b${escape(target)}\\b`).test(rt) &&
    mentionsRate(rt, lrNames) &&
    /\*/.test(rt) &&
    /[-+]/.test(rt) &&
    !/^(?:i|j|k|n|count|total|step|it|iter|epoch)$/.test(target)
  );
}

/** `return [(w - lr * dw, b - lr * db) for (w, b), (dw, db) in zip(params, grads)]`: new parameters from gradients. */
function returnedUpdate(n: Node, gradNames: ReadonlySet<string>): boolean {
  for (const b of n.descendantsOfType('binary_operator')) {
    if (!b || b.childForFieldName('operator')?.text !== '-') continue;
    const l = b.childForFieldName('left');
    const r = b.childForFieldName('right');
    if (!l || !r || !/^(?:identifier|attribute|subscript)$/.test(l.type) || !/\*/.test(r.text)) continue;
    const base = baseName(l.text);
    if (!INPUT_NAME.test(base) && mentionsGradient(r.text, base, gradNames)) return true;
  }
  return false;
}

/** `lambda p, g: p - lr * g` (tree_map over parameters and gradients). */
function lambdaUpdate(n: Node): boolean {
  const params =
    n
      .childForFieldName('parameters')
      ?.namedChildren.filter((c): c is Node => !!c && c.type === 'identifier')
      .map((c) => c.text) ?? [];
  const body = n.childForFieldName('body');
  if (params.length < 2 || !body || body.type !== 'binary_operator') return false;
  const l = body.childForFieldName('left');
  const r = body.childForFieldName('right');
  return (
    body.childForFieldName('operator')?.text === '-' &&
    l?.text === params[0] &&
    !!r &&
    /\*/.test(r.text) &&
    new RegExp(`\\b${params[1]}\\b`).test(r.text)
  );
}

/** TensorFlow variables: `W.assign_sub(lr * dW)`. */
function assignSub(n: Node, lrNames: ReadonlySet<string>, gradNames: ReadonlySet<string>): boolean {
  const fn = n.childForFieldName('function');
  if (!fn || fn.type !== 'attribute') return false;
  const attr = fn.childForFieldName('attribute')?.text;
  if (attr !== 'assign_sub' && attr !== 'assign_add') return false;
  const base = baseName(fn.childForFieldName('object')?.text ?? '');
  const args = n.childForFieldName('arguments')?.text ?? '';
  return !INPUT_NAME.test(base) && (mentionsGradient(args, base, gradNames) || mentionsRate(args, lrNames));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Base classes whose subclasses train when built or run: Lightning's CLI, trainers and runners. */
const CLI_BASE = /^LightningCLI$/;
const TRAINER_BASE = /^(?:\w*Trainer|\w*Runner|LightningCLI)$/;

/** What the names of a file stand for: import aliases and local subclasses of trainers. */
export interface FileNames {
  /** local name → imported name (last segment): `CLI` → "LightningCLI", `W2V` → "Word2Vec" */
  aliases: Map<string, string>;
  /** local names that build a Lightning CLI when called (aliases and subclasses of LightningCLI) */
  cliNames: Set<string>;
  /** local classes deriving from a trainer or runner: name → the base it derives from */
  trainerClasses: Map<string, string>;
  /** every class defined in the file (its methods are read rather than guessed from names) */
  classes: Set<string>;
}

/** Reads the imports and class headers of a file (statement texts and their node types). */
export function fileNames(stmts: readonly { text: string; type: string }[]): FileNames {
  const aliases = new Map<string, string>();
  const classes: [string, string[]][] = [];
  const all = new Set<string>();
  for (const s of stmts) {
    if (s.type === 'import_from_statement') {
      const m = /^from\s+[\w.]+\s+import\s+\(?(.*?)\)?$/.exec(s.text);
      if (!m) continue;
      for (const part of m[1].split(',')) {
        const a = /^\s*([A-Za-z_]\w*)\s+as\s+([A-Za-z_]\w*)\s*$/.exec(part);
        if (a) aliases.set(a[2], a[1]);
      }
    } else if (s.type === 'class_definition') {
      const name = /^class\s+([A-Za-z_]\w*)/.exec(s.text);
      if (name) all.add(name[1]);
      const m = /^class\s+([A-Za-z_]\w*)\s*\(([^)]*)\)/.exec(s.text);
      if (m) classes.push([m[1], m[2].split(',').map((b) => b.trim().split('.').pop() ?? '')]);
    }
  }
  const resolve = (n: string) => aliases.get(n) ?? n;
  const cliNames = new Set<string>([...aliases].filter(([, real]) => CLI_BASE.test(real)).map(([local]) => local));
  const trainerClasses = new Map<string, string>();
  // classes in order of definition; a class deriving from an earlier local trainer class is one too
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, bases] of classes) {
      if (trainerClasses.has(name)) continue;
      for (const b of bases.map(resolve)) {
        const root = trainerClasses.get(b) ?? (TRAINER_BASE.test(b) ? b : undefined);
        if (!root) continue;
        trainerClasses.set(name, root);
        if (CLI_BASE.test(root)) cliNames.add(name);
        changed = true;
        break;
      }
    }
  }
  return { aliases, cliNames, trainerClasses, classes: all };
}
