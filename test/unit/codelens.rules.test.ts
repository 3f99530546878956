/**
 * CodeLens rules for code the blind corpus showed missing or mistaken, each as a class of code rather than a file:
 * commands held in lists and variables, notebook shell lines, launchers of functions, Pyro/NumPyro SVI, step
 * handles inside functions and classes, a single LBFGS step, optimisers over inputs, agents of local classes; and
 * the incremental document's reuse of lenses when an edit changes what a name holds.
 */
import * as assert from 'node:assert/strict';
import {
  detectNotebookEntrypointsSync,
  detectTrainingEntrypointsSync,
  initDetector,
  PythonDocument,
} from '../../src/core/codelens';
import { commandTrains } from '../../src/core/codelens/commands';
import { asPython } from '../../src/core/codelens/notebook';

const trains = (src: string) => detectTrainingEntrypointsSync(src).length > 0;

before(async () => {
  await initDetector();
});

describe('CodeLens: commands that train', () => {
  it('tells training commands from evaluations and data preparation by what they run', () => {
    for (const c of [
      'torchrun --nproc_per_node=8 pretrain.py',
      '"torchrun", f"--nnodes={n}", "main.py"',
      'accelerate launch --num_processes 2 sft_lora.py',
      '"accelerate", "launch", "run_clm_no_trainer.py"',
      'deepspeed --num_gpus 8 finetune_llama.py --deepspeed ds.json',
      'sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "4", "main.py"',
      'python -m pkg.train --lr 3e-4',
      'python run_glue.py --model_name_or_path bert-base-cased --do_train --do_eval',
      'sbatch jobs/train_vit.sbatch',
      './train.sh',
      'python -m spacy train config.cfg --output out',
      'yolo train data=coco128.yaml model=yolov8n.pt',
      'yolo detect train data=coco8.yaml model=yolov8n.pt epochs=3',
      'yolo task=detect mode=train model=yolov8n.pt data=data.yaml epochs=50',
    ])
      assert.ok(commandTrains(c), c);
    for (const c of [
      '"torchrun", "--nproc_per_node=8", "eval_imagenet.py", "--resume", ckpt, "--eval"',
      'accelerate launch evaluate_glue.py --model_name_or_path out',
      'torchrun --nproc_per_node 8 main.py --eval-only',
      'python run_glue.py --model_name_or_path out --do_eval',
      'python make_train_split.py --ratio 0.9',
      'python scripts/train_tokenizer.py --vocab-size 32000',
      'python predict.py --checkpoint best.pt',
      'pip install -r requirements.txt',
      'yolo predict model=best.pt source=img.jpg',
      'python detect.py --weights best.pt --source data/images',
    ])
      assert.ok(!commandTrains(c), c);
    // a training script needs something that runs it
    assert.ok(!commandTrains('cat train.py'));
  });

  it('follows the command through the variables passed: lists, +=, append, a join', () => {
    assert.ok(
      trains(
        'import subprocess, sys\ncmd = [\n    "torchrun",\n    "--nproc_per_node=8",\n    "pretrain.py",\n]\nsys.exit(subprocess.call(cmd))\n',
      ),
    );
    assert.ok(
      trains(
        'import subprocess\nlaunch = ["accelerate", "launch"]\nlaunch += ["finetune.py", "--epochs", "3"]\nsubprocess.run(" ".join(launch), shell=True)\n',
      ),
    );
    assert.ok(
      trains(
        'import subprocess\ndef main():\n    args = [sys.executable, "train.py"]\n    args.append("--fp16")\n    subprocess.check_call(args)\nmain()\n',
      ),
    );
    assert.ok(
      !trains(
        'import subprocess\nfor ckpt in ckpts:\n    subprocess.run(["torchrun", "--nproc_per_node=8", "eval_imagenet.py", "--resume", ckpt, "--eval"])\n',
      ),
    );
  });

  it('reads notebook shell lines and %run as the commands they run', () => {
    const cells = (...sources: string[]) => sources.map((source) => ({ source, code: true }));
    const found = detectNotebookEntrypointsSync(
      cells('!pip install -q ultralytics', '!python train.py --img 640 --epochs 100 --data data.yaml'),
    );
    assert.deepEqual(
      found.map((e) => [e.cell, e.line]),
      [[1, 0]],
    );
    assert.equal(detectNotebookEntrypointsSync(cells('%run train.py --epochs 10')).length, 1);
    assert.equal(detectNotebookEntrypointsSync(cells('%%bash\ntorchrun --nproc_per_node 2 pretrain.py\n')).length, 1);
    assert.equal(
      detectNotebookEntrypointsSync(cells('!accelerate launch sft.py \\\n    --model m --epochs 3', 'x = 1')).length,
      1,
    );
    assert.equal(detectNotebookEntrypointsSync(cells('!python evaluate.py --checkpoint best.pt')).length, 0);
    assert.equal(detectNotebookEntrypointsSync(cells('%%writefile train.py\nmodel.fit(X, y)\n')).length, 0);
    // line for line, so that lens lines map back unchanged; `%time stmt` runs the statement
    const py = asPython('%matplotlib inline\n!echo "hi" \\\n  there\n%time model.fit(X, y)')!;
    assert.equal(py.split('\n').length, 4);
    assert.match(
      py,
      /^#matplotlib inline\nget_ipython\(\)\.system\("echo \\"hi\\" \\\n {2}there"\)\nmodel\.fit\(X, y\)$/,
    );
  });
});

describe('CodeLens: launchers, SVI, handles, closures, inputs and agents', () => {
  it('finds functions started by submitit, multiprocessing and Ray Tune', () => {
    assert.ok(trains('from myproject.train import train\njob = executor.submit(train, cfg)\n'));
    assert.ok(
      trains(
        'import torch.multiprocessing as mp\nfrom w import worker_train_loop\np = mp.Process(target=worker_train_loop, args=(0, 2))\np.start()\n',
      ),
    );
    assert.ok(trains('from ray import tune\nfrom exp import trainable\ntune.run(trainable, config=space)\n'));
    assert.ok(!trains('from concurrent.futures import ThreadPoolExecutor\nex.submit(download, url)\n'));
  });

  it("finds Pyro's and NumPyro's stochastic variational inference", () => {
    assert.ok(
      trains('svi = SVI(model, guide, adam, loss=Trace_ELBO())\nfor j in range(1500):\n    loss = svi.step(x, y)\n'),
    );
    assert.ok(
      trains(
        'svi = SVI(model, guide, optim.Adam(0.01), Trace_ELBO())\nresult = svi.run(random.PRNGKey(0), 3000, X, y)\n',
      ),
    );
    assert.ok(!trains('mcmc = MCMC(NUTS(model), num_samples=1000)\nresult = mcmc.get_samples()\n'));
  });

  it('follows step handles inside a function and inside a class', () => {
    const inFunction =
      'def main(_):\n    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)\n    for _ in range(1000):\n        sess.run(train_step, feed_dict=fd)\n\nif __name__ == "__main__":\n    tf.app.run(main=main)\n';
    assert.deepEqual(
      detectTrainingEntrypointsSync(inFunction).map((e) => e.label),
      ['main block', 'training loop'],
    );
    const inClass =
      'class Net:\n    def __init__(self):\n        self.train_op = tf.train.AdamOptimizer(1e-3).minimize(self.cost)\n    def run_epochs(self, sess, n):\n        for epoch in range(n):\n            sess.run([self.cost, self.train_op])\n\nif __name__ == "__main__":\n    Net().run_epochs(sess, 50)\n';
    assert.ok(trains(inClass));
  });

  it('takes one LBFGS step(closure) over model parameters for training, over an image not', () => {
    const fit =
      'opt = torch.optim.LBFGS(net.parameters(), max_iter=500)\ndef closure():\n    opt.zero_grad()\n    loss = mse(net(X), Y)\n    loss.backward()\n    return loss\nopt.step(closure)\n';
    assert.deepEqual(
      detectTrainingEntrypointsSync(fit).map((e) => e.label),
      ['optimizer.step(closure)'],
    );
    const style =
      'input_img = content_img.clone().requires_grad_(True)\noptimizer = optim.LBFGS([input_img])\nwhile run[0] <= 300:\n    def closure():\n        optimizer.zero_grad()\n        loss = style_loss(model(input_img))\n        loss.backward()\n        return loss\n    optimizer.step(closure)\n';
    assert.ok(!trains(style));
    assert.ok(
      !trains(
        'z = torch.randn(1, 512, requires_grad=True)\nopt = torch.optim.Adam([z])\nfor i in range(200):\n    loss = lpips(G(z), target)\n    loss.backward()\n    opt.step()\n',
      ),
    );
    assert.ok(
      trains(
        'w = torch.zeros(3, requires_grad=True)\nopt = torch.optim.SGD([w, b], lr=0.1)\nfor i in range(200):\n    loss = ((X @ w + b - y) ** 2).mean()\n    loss.backward()\n    opt.step()\n',
      ),
    );
  });

  it("reads an agent of a class defined in the file from its methods, and Stable-Baselines3's learn(N)", () => {
    const loop = 'agent = {0}(env.action_space)\nfor ep in range(100):\n    action = agent.step(obs, reward, done)\n';
    const random =
      'class RandomAgent:\n    def step(self, obs, reward, done):\n        return self.action_space.sample()\n\n';
    assert.ok(!trains(random + loop.replace('{0}', 'RandomAgent')));
    const learning =
      'class DQNAgent:\n    def step(self, obs, reward, done):\n        self.learn()\n    def learn(self):\n        loss.backward()\n        self.optimizer.step()\n\n';
    assert.ok(trains(learning + loop.replace('{0}', 'DQNAgent')));
    assert.ok(
      trains(
        'from stable_baselines3 import PPO\npolicy = PPO("MlpPolicy", env)\npolicy.learn(TIMESTEPS, reset_num_timesteps=False)\n',
      ),
    );
    assert.ok(trains('from stable_baselines3 import SAC\nalgo = SAC("MlpPolicy", env)\nalgo.learn(n)\n'));
  });
});

describe('CodeLens: more runners and a stricter sign of gradients', () => {
  it('finds Ignite trainers, statsmodels fits and PyCaret comparisons', () => {
    assert.ok(
      trains('trainer = create_supervised_trainer(model, optimizer, loss)\ntrainer.run(train_loader, max_epochs=10)\n'),
    );
    assert.ok(trains('import statsmodels.formula.api as smf\nres = smf.ols("y ~ x", data=df).fit()\n'));
    assert.ok(trains('fit = ExponentialSmoothing(train, seasonal="add", seasonal_periods=12).fit()\n'));
    assert.ok(trains('from sklearn.mixture import GaussianMixture\ngm = GaussianMixture(n_components=8).fit(X)\n'));
    assert.ok(
      trains('from pycaret.classification import *\ns = setup(data, target="Class")\nbest = compare_models()\n'),
    );
    assert.ok(!trains('import faiss\nindex = faiss.IndexIVFFlat(q, d, 100)\nindex.train(xb)\nindex.add(xb)\n'));
  });

  it('needs a gradient somewhere for a bare optimizer.step(): the word "loss" alone is not one', () => {
    const plot =
      '# plot the schedule; no loss is computed here\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor step in range(100):\n    opt.step()\n    sched.step()\n    lrs.append(sched.get_last_lr()[0])\n';
    assert.ok(!trains(plot));
    assert.ok(trains(plot.replace('    opt.step()', '    self.manual_backward(loss)\n    opt.step()')));
  });
});

describe('CodeLens: the incremental document after edits that change what names hold', () => {
  it('equals a fresh detection when a class, a function or a constructor is added or removed elsewhere', () => {
    const loop =
      'agent = RandomAgent(env.action_space)\nfor ep in range(100):\n    action = agent.step(obs, reward, done)\n';
    const cls =
      'class RandomAgent:\n    def step(self, obs, reward, done):\n        return self.action_space.sample()\n\n';
    const versions = [
      loop,
      cls + loop,
      loop,
      'import subprocess\ncmd = ["python", "prepare.py"]\nsubprocess.run(cmd)\n',
      'import subprocess\ncmd = ["python", "train.py"]\nsubprocess.run(cmd)\n',
      'opt = make()\nfor i in range(3):\n    loss.backward()\n    opt.step()\n',
      'opt = optim.LBFGS([input_img])\nfor i in range(3):\n    loss.backward()\n    opt.step()\n',
      'opt = optim.LBFGS(net.parameters())\nfor i in range(3):\n    loss.backward()\n    opt.step()\n',
    ];
    const doc = new PythonDocument();
    try {
      for (const v of versions) assert.deepEqual(doc.detect(v), detectTrainingEntrypointsSync(v), v);
    } finally {
      doc.dispose();
    }
  });

  it('keeps the lenses (at their new lines) when an edit leaves what they read unchanged', () => {
    const src =
      'import torch\n\ndef train(model, loader):\n    for epoch in range(10):\n        for x, y in loader:\n            loss = crit(model(x), y)\n            loss.backward()\n            optimizer.step()\n\nif __name__ == "__main__":\n    train(net, dl)\n';
    const doc = new PythonDocument();
    try {
      const before = doc.detect(src);
      const moved = doc.detect('import os\n' + src.replace('range(10)', 'range(20)'));
      assert.equal(doc.lastReused, true);
      assert.deepEqual(
        moved.map((e) => e.line),
        before.map((e) => e.line + 1),
      );
      doc.detect('import os\n' + src.replace('optimizer.step()', 'print(1)'));
      assert.equal(doc.lastReused, false);
    } finally {
      doc.dispose();
    }
  });
});
