/**
 * CodeLens detection: the corpus in test/fixtures/codelens (precision and recall over every expected line), and the
 * scanner and detector on the cases that break naive ones.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  detectNotebookEntrypoints,
  detectNotebookEntrypointsSync,
  detectTrainingEntrypoints,
  detectTrainingEntrypointsSync,
  initDetector,
  MAX_LENSES,
  optimisationStep,
  parseNotebook,
  scanStatements,
  trainingCall,
  VersionedCache,
} from '../../src/core/codelens';

const ROOT = path.join(__dirname, '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'codelens');
const CORPUS = path.join(FIXTURES, 'corpus');

before(async () => {
  await initDetector();
});

type Expected = Record<string, (number | { cell: number; line: number })[]>;

/** 1-based lines (or "cell:line") the detector gives for a corpus file. */
function detectedKeys(file: string): string[] {
  const text = fs.readFileSync(path.join(CORPUS, file), 'utf8');
  if (file.endsWith('.ipynb'))
    return detectNotebookEntrypointsSync(parseNotebook(text)).map((e) => `${e.cell}:${e.line + 1}`);
  return detectTrainingEntrypointsSync(text).map((e) => String(e.line + 1));
}

function expectedKeys(list: Expected[string]): string[] {
  return list.map((e) => (typeof e === 'number' ? String(e) : `${e.cell}:${e.line}`));
}

describe('CodeLens: the corpus', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

  it('has every file of the corpus labelled, at least 30 Python files and some notebooks', () => {
    const files = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.py') || f.endsWith('.ipynb'));
    assert.deepEqual([...files].sort(), Object.keys(expected).sort(), 'expected.json labels exactly the corpus');
    assert.ok(files.filter((f) => f.endsWith('.py')).length >= 30, `${files.length} files`);
    assert.ok(files.filter((f) => f.endsWith('.ipynb')).length >= 2);
    const negatives = Object.values(expected).filter((v) => v.length === 0).length;
    assert.ok(negatives >= 10, `${negatives} files without a lens`);
  });

  it('finds the expected lens lines with precision and recall ≥ 0.9', () => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    const misses: string[] = [];
    for (const [file, list] of Object.entries(expected)) {
      const got = detectedKeys(file);
      const want = expectedKeys(list);
      const hits = got.filter((g) => want.includes(g)).length;
      tp += hits;
      fp += got.length - hits;
      fn += want.length - hits;
      if (hits !== got.length || hits !== want.length)
        misses.push(`${file}: got [${got.join(', ')}], expected [${want.join(', ')}]`);
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    console.log(
      `      corpus: ${Object.keys(expected).length} files, ${tp + fn} expected lenses: ` +
        `precision ${precision.toFixed(3)} (${tp}/${tp + fp}), recall ${recall.toFixed(3)} (${tp}/${tp + fn})`,
    );
    for (const m of misses) console.log(`      differs: ${m}`);
    assert.ok(precision >= 0.9, `precision ${precision}`);
    assert.ok(recall >= 0.9, `recall ${recall}`);
  });

  it('ranks lenses best first and gives a file a few at most', () => {
    for (const file of Object.keys(expected).filter((f) => f.endsWith('.py'))) {
      const found = detectTrainingEntrypointsSync(fs.readFileSync(path.join(CORPUS, file), 'utf8'));
      assert.ok(found.length <= MAX_LENSES, file);
      for (let i = 1; i < found.length; i++) assert.ok(found[i - 1].score >= found[i].score, `${file} is ranked`);
      for (const e of found)
        assert.ok(e.score > 0 && e.score <= 1 && e.label.length > 0, `${file}: ${JSON.stringify(e)}`);
    }
  });

  it('says what it found: the main block first, then the training site', () => {
    const mnist = detectTrainingEntrypointsSync(fs.readFileSync(path.join(CORPUS, 'torch_mnist.py'), 'utf8'));
    assert.deepEqual(
      mnist.map((e) => [e.kind, e.label]),
      [
        ['main', 'main block'],
        ['loop', 'training loop'],
      ],
    );
    const lightning = detectTrainingEntrypointsSync(fs.readFileSync(path.join(CORPUS, 'lightning_module.py'), 'utf8'));
    assert.deepEqual(
      lightning.map((e) => [e.kind, e.label]),
      [
        ['main', 'main block'],
        ['call', 'trainer.fit()'],
      ],
    );
    const keras = detectTrainingEntrypointsSync(fs.readFileSync(path.join(CORPUS, 'keras_mnist.py'), 'utf8'));
    assert.deepEqual(
      keras.map((e) => [e.kind, e.label]),
      [['call', 'model.fit()']],
    );
    const gan = detectTrainingEntrypointsSync(fs.readFileSync(path.join(CORPUS, 'torch_gan.py'), 'utf8'));
    assert.deepEqual(
      gan.map((e) => e.kind),
      ['main', 'function'],
    );
    assert.equal(gan[1].label, 'train_gan()');
  });
});

describe('CodeLens: the Python scanner', () => {
  it('joins bracket and backslash continuations and keeps the first line', () => {
    const s = scanStatements('x = f(\n    1,\n    2)\ny = 1 + \\\n    2\nz = 3\n');
    assert.deepEqual(
      s.map((t) => [t.line, t.endLine, t.text]),
      [
        [0, 2, 'x = f(     1,     2)'],
        [3, 4, 'y = 1 +      2'],
        [5, 5, 'z = 3'],
      ],
    );
  });

  it('blanks strings and drops comments, but keeps short identifier-like literals', () => {
    const s = scanStatements(
      'a = "model.fit(X, y)"  # trainer.fit(m)\nif __name__ == \'__main__\':\n    b = """\nfor epoch in range(3):\n    optimizer.step()\n"""\n',
    );
    assert.deepEqual(
      s.map((t) => t.text),
      ['a = ""', 'if __name__ == "__main__":', 'b = ""'],
    );
    assert.equal(s[2].endLine, 5);
  });

  it('handles escapes, prefixes, CRLF, tabs and comment-only lines', () => {
    const src = 'x = r"a\\"b"; y = f\'{z}\'\r\n\r\n# just a comment\r\nif x:\r\n\tpass\r\n';
    const s = scanStatements(src);
    assert.deepEqual(
      s.map((t) => [t.line, t.indent, t.text]),
      [
        [0, 0, 'x = ""'],
        [0, 13, 'y = ""'],
        [3, 0, 'if x:'],
        [4, 1, 'pass'],
      ],
    );
  });

  it('computes blocks from indentation', () => {
    const s = scanStatements('def f():\n    for i in r:\n        g()\n    h()\nk()\n');
    assert.deepEqual(
      s.map((t) => t.blockEnd),
      [3, 2, 2, 3, 4],
    );
  });

  it('never throws on broken source and ends unterminated strings and brackets at the end', () => {
    for (const src of [
      'x = (',
      '"""never closed\nfor epoch in range(3):\n  opt.step()',
      "s = 'abc\ny = 1",
      ')))]]}}',
      '\\',
      '',
      '\t\t\n  \n',
      'é = "ü" # ∑',
    ]) {
      if (src.startsWith('"""')) {
        // the grammar recovers from the unterminated string and reads the loop after it: no throw is what matters
        assert.ok(Array.isArray(detectTrainingEntrypointsSync(src)));
        continue;
      }
      const s = scanStatements(src);
      assert.ok(Array.isArray(s));
      assert.deepEqual(detectTrainingEntrypointsSync(src), []);
    }
  });
});

describe('CodeLens: detection', () => {
  const lines = (src: string, opts = {}) => detectTrainingEntrypointsSync(src, opts).map((e) => e.line + 1);

  it('does not take model.train() (the training mode switch) for training', () => {
    assert.equal(trainingCall('model.train()'), undefined);
    assert.equal(trainingCall('self.model.train(False)'), undefined);
    assert.equal(trainingCall('net.train(mode=True)'), undefined);
    assert.deepEqual(trainingCall('trainer.train()'), { strength: 2, label: 'trainer.train()' });
    assert.equal(trainingCall('results = model.train(data="coco8.yaml", epochs=3)')?.strength, 2);
    assert.equal(trainingCall('bst = xgb.train(params, dtrain, num_boost_round=10)')?.strength, 2);
  });

  it('tells models from preprocessing in .fit()', () => {
    const ctors = new Map([
      ['scaler', 'StandardScaler'],
      ['clf', 'RandomForestClassifier'],
      ['enc', 'OneHotEncoder'],
    ]);
    assert.equal(trainingCall('scaler.fit(X_train)', ctors), undefined);
    assert.equal(trainingCall('enc.fit(df[cols])', ctors), undefined);
    assert.equal(trainingCall('X = StandardScaler().fit(X)'), undefined);
    assert.equal(trainingCall('clf.fit(X_train, y_train)', ctors)?.strength, 2);
    assert.equal(trainingCall('LogisticRegression(max_iter=100).fit(X, y)')?.label, 'LogisticRegression.fit()');
    assert.equal(trainingCall('X2 = pca.fit_transform(X)'), undefined);
    assert.equal(trainingCall('Xtr, Xte = train_test_split(X, test_size=0.2)'), undefined);
  });

  it('knows optimisation steps from other steps', () => {
    assert.ok(optimisationStep('optimizer.step()'));
    assert.ok(optimisationStep('self.opt_g.step()'));
    assert.ok(optimisationStep('optimizers[0].step()'));
    assert.ok(optimisationStep('scaler.step(optimizer)'));
    assert.ok(optimisationStep('state = state.apply_gradients(grads=grads)'));
    assert.ok(optimisationStep('params = optax.apply_updates(params, updates)'));
    assert.ok(optimisationStep('w -= lr * w.grad'));
    assert.ok(!optimisationStep('obs, reward, done, info = env.step(action)'));
    assert.ok(!optimisationStep('lr_scheduler.step()'));
    assert.ok(!optimisationStep('loss.backward()'));
  });

  it('puts lenses on the main block and the training function it calls', () => {
    const src = [
      'import torch',
      'def train(model, loader, epochs):',
      '    opt = torch.optim.SGD(model.parameters(), lr=0.1)',
      '    for epoch in range(epochs):',
      '        for x, y in loader:',
      '            loss = model(x, y)',
      '            loss.backward()',
      '            opt.step()',
      'def main():',
      '    train(Net(), make_loader(), 10)',
      'if __name__ == "__main__":',
      '    main()',
    ].join('\n');
    assert.deepEqual(lines(src), [11, 2]);
    // in a notebook, only what runs when a cell runs
    assert.deepEqual(lines(src, { notebook: true }), [11]);
  });

  it('finds nothing in a library module, a test module, or a web app', () => {
    const library = 'def train(model, loader):\n    for x in loader:\n        optimizer.step()\n';
    assert.deepEqual(lines(library), []);
    const tests = 'import pytest\ndef test_fit():\n    clf.fit(X, y)\nmodel.fit(X, y)\n';
    assert.deepEqual(lines(tests), []);
    const flask = 'from flask import Flask\napp = Flask(__name__)\nmodel.fit(X, y)\n';
    assert.deepEqual(lines(flask), []);
  });

  it('follows callbacks and spawned workers', () => {
    const src = [
      'def worker(rank):',
      '    for epoch in range(3):',
      '        loss.backward()',
      '        optimizer.step()',
      'if __name__ == "__main__":',
      '    mp.spawn(worker, nprocs=2)',
    ].join('\n');
    assert.deepEqual(lines(src), [5, 2]);
  });

  it('gives at most maxLenses lenses', () => {
    const src = Array.from({ length: 10 }, (_, i) => `m${i} = SVC()\nm${i}.fit(X, y)`).join('\n');
    assert.equal(detectTrainingEntrypointsSync(src).length, MAX_LENSES);
    assert.equal(detectTrainingEntrypointsSync(src, { maxLenses: 1 }).length, 1);
  });

  it('maps notebook lenses back to their cells', () => {
    const cells = [
      { source: '# Title', code: false },
      { source: 'import torch', code: true },
      { source: 'def train_epoch():\n    for x in dl:\n        loss_fn(x).backward()\n        opt.step()', code: true },
      { source: '%%time\nfor epoch in range(3):\n    train_epoch()', code: true },
      { source: '%%bash\nfor f in *; do echo $f; done', code: true },
    ];
    assert.deepEqual(
      detectNotebookEntrypointsSync(cells).map((e) => [e.cell, e.line, e.kind]),
      [[3, 1, 'loop']],
    );
  });

  it('reads .ipynb cells, with their language', () => {
    const nb = JSON.stringify({
      metadata: { language_info: { name: 'python' } },
      cells: [
        { cell_type: 'markdown', source: ['# x'] },
        { cell_type: 'code', source: ['model.fit(X, y)\n', 'print(1)'] },
        { cell_type: 'code', metadata: { vscode: { languageId: 'sql' } }, source: 'select 1' },
      ],
    });
    assert.deepEqual(parseNotebook(nb), [
      { source: '# x', code: false },
      { source: 'model.fit(X, y)\nprint(1)', code: true },
      { source: 'select 1', code: false },
    ]);
  });
});

describe('CodeLens: the detection cache', () => {
  it('computes once per document version, and again after an edit', () => {
    const cache = new VersionedCache<number>();
    let calls = 0;
    const detect = () => ++calls;
    assert.equal(cache.get('file:///a.py', 1, detect), 1);
    assert.equal(cache.get('file:///a.py', 1, detect), 1);
    assert.equal(cache.get('file:///a.py', 2, detect), 2);
    assert.equal(cache.get('file:///b.py', 1, detect), 3);
    assert.equal(cache.computed, 3);
    cache.delete('file:///a.py');
    assert.equal(cache.get('file:///a.py', 2, detect), 4);
  });

  it('forgets the least recently used documents beyond its bound', () => {
    const cache = new VersionedCache<string>(2);
    cache.get('a', 1, () => 'a1');
    cache.get('b', 1, () => 'b1');
    cache.get('a', 1, () => 'a2'); // a is now the most recent
    cache.get('c', 1, () => 'c1');
    assert.equal(cache.size, 2);
    assert.equal(
      cache.get('a', 1, () => 'again'),
      'a1',
    );
    assert.equal(
      cache.get('b', 1, () => 'b2'),
      'b2',
      'b was dropped',
    );
  });
});

describe('CodeLens: rules that follow the data (the cases a name-based scanner missed)', () => {
  const trains = (src: string) => detectTrainingEntrypointsSync(src).length > 0;

  it('finds gradient descent written by hand, whatever the names', () => {
    const numpy = 'for i in range(100):\n    dW1 = X.T @ dh\n    W1 += -lr * dW1\n';
    const purePython =
      'for epoch in range(100):\n    dm = sum(x * (y - m * x) for x, y in data)\n    m = m - lr * dm\n';
    const karpathy =
      'for k in range(100):\n    total.backward()\n    for p in model.parameters():\n        p.data += -learning_rate * p.grad\n';
    const listComp =
      'def update(params, x, y):\n    grads = grad(loss)(params, x, y)\n    return [(w - step_size * dw, b - step_size * db) for (w, b), (dw, db) in zip(params, grads)]\nfor epoch in range(8):\n    params = update(params, x, y)\n';
    const treeUtil = 'for it in range(500):\n    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, g)\n';
    const tape = 'for epoch in range(20):\n    dW, db = tape.gradient(loss, [W, b])\n    W.assign_sub(lr * dW)\n';
    for (const src of [numpy, purePython, karpathy, listComp, treeUtil, tape]) assert.ok(trains(src), src);
  });

  it('finds descent by a literal step along a transposed product, with no rate or gradient name', () => {
    for (const src of [
      'for it in range(5000):\n    r = X @ W - y\n    W -= 0.01 * X.T @ r / n\n',
      'for e in range(300):\n    p = sig(np.dot(A, th))\n    th = th - 0.5 * np.dot(A.T, p - t) / len(t)\n',
      'for e in range(9):\n    Wt -= 1e-3 * (xb.T @ (probs - yb))\n',
      'for e in range(9):\n    coef -= .05 * feats.T.dot(err)\n',
      // a new user's script: the parameter inside its own gradient, no transpose
      'for i in range(500):\n    w = w - 0.0001 * (x @ w - x)\n',
    ])
      assert.ok(trains(src), src);
    for (const src of [
      'for z in zs:\n    P = P - K @ H @ P\n', // a Kalman filter: no literal step, no transposed product
      'for s in range(99):\n    vel -= 0.001 * K @ pos\n', // a simulation: no transposed product, an input
      'for s in range(99):\n    W -= 2 * X.T @ r\n', // a step of 2 is no descent step
      'for i in range(9):\n    rank = 0.15 / n + 0.85 * M.T @ rank\n', // power iteration: a sum, not a descent
      'for z in zs:\n    cov = cov - 0.5 * (K @ S)\n', // the product does not hold what is updated
      '@dataclass\nclass A:\n    w: float\nfor i in range(9):\n    w = w - 0.5 * w\n', // a decorator is no product
    ])
      assert.ok(!trains(src), src);
  });

  it('does not take an update of an input (an attack, DeepDream, a parabola) for training', () => {
    assert.ok(!trains('for _ in range(15):\n    x = x - step * df(x)\n'));
    assert.ok(
      !trains(
        'for step in range(100):\n    gradients = tape.gradient(loss, img)\n    img = img + gradients * step_size\n',
      ),
    );
  });

  it('recognises runners and trainers by what they are built from, not by the variable name', () => {
    assert.ok(trains('from mmengine.runner import Runner\nr = Runner.from_cfg(cfg)\nr.train()\n'));
    assert.ok(!trains('import torchvision\nr = torchvision.models.resnet18()\nr.train()\n'));
    assert.ok(
      trains(
        'from lightning.pytorch.cli import LightningCLI\nclass MyCLI(LightningCLI):\n    pass\nMyCLI(Model, DataModule)\n',
      ),
    );
    assert.ok(trains('from lightning.pytorch.cli import LightningCLI as CLI\nCLI(Model)\n'));
    assert.ok(
      trains(
        'for i_episode in range(1000):\n    next_state, reward, done, _ = env.step(action)\n    agent.step(state, action, reward, next_state, done)\n',
      ),
    );
    assert.ok(trains('from gensim.models import Word2Vec\nmodel = Word2Vec(sentences, vector_size=100)\n'));
    assert.ok(
      trains(
        'import jax\ndef body(i, p):\n    return p - lr * jax.grad(loss)(p)\nparams = jax.lax.fori_loop(0, 100, body, params)\n',
      ),
    );
    assert.ok(trains('import os\nos.system("accelerate launch --multi_gpu finetune.py --epochs 3")\n'));
    assert.ok(
      trains(
        'import subprocess\ncmd = ["torchrun", "--nproc_per_node=8", "main.py"]\nsubprocess.run(cmd, check=True)\n',
      ),
    );
    assert.ok(!trains('import subprocess\nsubprocess.run(["python", "evaluate.py", "--ckpt", "last.pt"])\n'));
  });

  it('finds no training where no model parameter is optimised', () => {
    const lrPlot =
      'opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\nfor _ in range(100):\n    lrs.append(sched.get_last_lr())\n    opt.step()\n    sched.step()\n';
    assert.ok(!trains(lrPlot));
    const bpe =
      'from tokenizers import Tokenizer, models, trainers\ntokenizer = Tokenizer(models.BPE())\ntrainer = trainers.BpeTrainer(vocab_size=32000)\ntokenizer.train(files, trainer=trainer)\n';
    assert.ok(!trains(bpe));
  });

  it('offers the same detection through the async API, which loads the parser itself', async () => {
    const src = 'for epoch in range(3):\n    loss.backward()\n    optimizer.step()\n';
    assert.deepEqual(await detectTrainingEntrypoints(src), detectTrainingEntrypointsSync(src));
    const cells = [{ source: 'model.fit(X, y)', code: true }];
    assert.deepEqual(await detectNotebookEntrypoints(cells), detectNotebookEntrypointsSync(cells));
  });
});
