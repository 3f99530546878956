import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REDACTED, redactRun, redactSecrets } from '../../src/core/history/redact';
import { readSettings } from '../../src/extension/settings';

// Example secrets built from pieces, so no scanner mistakes this file for a leak.
const AWS = 'AKIA' + 'IOSFODNN7EXAMPLE';
const GH = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const HF = 'hf_' + 'AbCdEfGhIjKlMnOpQrStUvWxYz01234567';
const OPENAI = 'sk-' + 'proj-Abc123Def456Ghi789Jkl012Mno345';

describe('redactSecrets', () => {
  const redacted: [string, string, string][] = [
    ['--api-key=', 'python train.py --api-key=abc123', `python train.py --api-key=${REDACTED}`],
    [
      '--api_key value',
      'python train.py --api_key abc123 --epochs 3',
      `python train.py --api_key ${REDACTED} --epochs 3`,
    ],
    ['--hf-token value', 'python push.py --hf-token xyz', `python push.py --hf-token ${REDACTED}`],
    ['--password=', 'psql --password=hunter2', `psql --password=${REDACTED}`],
    ['--client-secret', 'app --client-secret s3cr3t', `app --client-secret ${REDACTED}`],
    ['token=', 'curl https://x.example/api?a=1 token=abc', `curl https://x.example/api?a=1 token=${REDACTED}`],
    ['password=', 'mysql password=abc', `mysql password=${REDACTED}`],
    ['env HF_TOKEN=', 'HF_TOKEN=abc python train.py', `HF_TOKEN=${REDACTED} python train.py`],
    [
      'env AWS_SECRET_ACCESS_KEY=',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG aws s3 ls',
      `AWS_SECRET_ACCESS_KEY=${REDACTED} aws s3 ls`,
    ],
    ['quoted option', "python train.py '--api-key=a b'", `python train.py '--api-key=${REDACTED}'`],
    [
      'Bearer',
      "curl -H 'Authorization: Bearer abc.def.ghi' https://x",
      `curl -H 'Authorization: Bearer ${REDACTED}' https://x`,
    ],
    ['bare Bearer', 'tool Bearer abc123', `tool Bearer ${REDACTED}`],
    ['AWS key id', `aws --profile x ${AWS}`, `aws --profile x ${REDACTED}`],
    ['GitHub token', `git push https://x.example ${GH}`, `git push https://x.example ${REDACTED}`],
    ['Hugging Face token', `huggingface-cli login ${HF}`, `huggingface-cli login ${REDACTED}`],
    ['OpenAI key', `python eval.py ${OPENAI}`, `python eval.py ${REDACTED}`],
    [
      'URL credentials',
      'git clone https://alice:pa55@git.example/repo.git',
      `git clone https://alice:${REDACTED}@git.example/repo.git`,
    ],
    [
      'database URL',
      'python app.py --db postgres://u:p@db:5432/x',
      `python app.py --db postgres://u:${REDACTED}@db:5432/x`,
    ],
  ];
  for (const [what, input, expected] of redacted) {
    it(`redacts ${what}`, () => assert.equal(redactSecrets(input), expected));
  }

  const kept = [
    'python train.py --lr=0.001 --epochs 10',
    'python train.py --tokenizer gpt2',
    'python train.py --max-tokens 512 --max_new_tokens=64',
    'python train.py --token-limit 5',
    'python train.py --model sk-learn --seed 1',
    'python -m torch.distributed.run --nproc_per_node=8 train.py',
    'python train.py --secret-sauce-enabled',
    'python train.py --password-file /run/secrets/db',
    'python train.py --hf_hub_cache /data/hf_cache',
    'git clone https://git.example/repo.git',
    'python basic_training.py --basic training',
    'python train.py --use-auth-token --epochs 3',
    '',
  ];
  for (const input of kept) {
    it(`keeps ${JSON.stringify(input)}`, () => assert.equal(redactSecrets(input), input));
  }

  it('is idempotent', () => {
    for (const [, input] of redacted) assert.equal(redactSecrets(redactSecrets(input)), redactSecrets(input));
  });

  it('redactRun returns the same object when nothing changed, a copy otherwise', () => {
    const clean = { command: 'python train.py', name: 'train.py' };
    assert.equal(redactRun(clean), clean);
    const dirty = { command: 'python train.py --api-key=abc', name: 'train.py', extra: 1 };
    const out = redactRun(dirty);
    assert.notEqual(out, dirty);
    assert.equal(out.command, `python train.py --api-key=${REDACTED}`);
    assert.equal(dirty.command, 'python train.py --api-key=abc');
    assert.equal(out.extra, 1);
  });
});

describe('setting carbonMeter.history.redactSecrets', () => {
  const ROOT = path.resolve(__dirname, '../../..');
  it('is declared in package.json (default true) with a description in package.nls.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
    const sections: { properties: Record<string, { type: string; default: unknown; markdownDescription: string }> }[] =
      pkg.contributes.configuration;
    const decl = sections.map((c) => c.properties['carbonMeter.history.redactSecrets']).find(Boolean)!;
    assert.equal(decl.type, 'boolean');
    assert.equal(decl.default, true);
    assert.ok(nls[decl.markdownDescription.slice(1, -1)], 'described');
  });

  it('is read by the settings reader: on by default, off when set, a wrong value gives a problem and stays on', () => {
    assert.equal(readSettings(() => undefined).settings.redactSecrets, true);
    assert.equal(
      readSettings((k) => (k === 'history.redactSecrets' ? false : undefined)).settings.redactSecrets,
      false,
    );
    const bad = readSettings((k) => (k === 'history.redactSecrets' ? 'no' : undefined));
    assert.equal(bad.settings.redactSecrets, true);
    assert.ok(
      bad.problems.some((p) => p.key.includes('history.redactSecrets')),
      JSON.stringify(bad.problems),
    );
  });
});
