import { strict as assert } from 'node:assert';
import { parseProgressLine, ProgressParser, stripAnsi } from '../../src/core/forecast/progress';

/** Feeds the text to a fresh parser and returns every progress it reported, rounded. */
function progressOf(text: string | string[]): number[] {
  const p = new ProgressParser();
  const out: number[] = [];
  // a chunk per line, so that every line's progress is seen (push reports the newest of a chunk)
  for (const chunk of Array.isArray(text) ? text : text.split(/(?<=\n)/)) {
    const u = p.push(chunk);
    if (u) out.push(Math.round(u.fraction * 10000) / 10000);
  }
  const e = p.end();
  if (e) out.push(Math.round(e.fraction * 10000) / 10000);
  return out;
}

describe('progress parser', () => {
  it('reads Keras epochs and the step bar inside each epoch (\\r redraws)', () => {
    const p = new ProgressParser();
    assert.equal(p.push('Epoch 1/4\n')?.fraction, 0);
    assert.equal(
      p.push('\r 5/10 [==============>...............] - ETA: 1s - loss: 0.61')?.fraction,
      undefined,
      'unterminated: not read yet',
    );
    assert.equal(
      p.push('\r10/10 [==============================] - 2s 150ms/step - loss: 0.5\n')?.fraction,
      0.25,
      'the redraw at 5/10 (0.125), then 10/10: the newest',
    );
    assert.equal(p.fraction, 0.25);
    assert.equal(p.push('Epoch 2/4\n'), undefined, 'the header of epoch 2 says no more than the end of epoch 1');
    assert.equal(
      p.push(
        '\x1b[1m 5/10\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━\x1b[0m \x1b[1m1s\x1b[0m 120ms/step - loss: 0.4\r',
      )?.fraction,
      0.375,
    );
    assert.equal(p.label, 'epoch 2/4');
  });

  it('epochs on stdout and a tqdm bar per epoch on stderr, read apart, nest as they do in one file', () => {
    const p = new ProgressParser();
    const bar = (i: number) =>
      `\r${String(i * 5).padStart(3)}%|${'#'.repeat(i >> 1)}| ${i}/20 [00:00<00:00, 40.00it/s]`;
    const seen: number[] = [];
    for (let e = 1; e <= 8; e++) {
      const h = p.push(`Epoch ${e}/8\n`, 'stdout');
      if (h) seen.push(h.fraction);
      // the bar's redraws come in chunks cut anywhere; a stdout line may fall between two of them
      for (let i = 0; i <= 20; i += 5) {
        const text = bar(i);
        const u1 = p.push(text.slice(0, 7), 'stderr');
        if (e === 3 && i === 10) assert.equal(p.push('loss 0.4\n', 'stdout'), undefined);
        const u2 = p.push(text.slice(7), 'stderr');
        for (const u of [u1, u2]) if (u) seen.push(u.fraction);
      }
      p.push('\n', 'stderr');
      // the whole bar of epoch e is e/8 of the run, never the whole run
      assert.equal(p.fraction, e / 8);
    }
    assert.equal(p.label, 'epoch 8/8');
    assert.equal(p.fraction, 1);
    // within epoch 3 (of 8) at 5/20 of its bar: 2/8 + 0.25/8
    assert.ok(seen.includes(2.25 / 8), JSON.stringify(seen));
    // an unfinished line of each stream is read at the end
    const q = new ProgressParser();
    q.push('Epoch 1/2\nEpoch 2/2', 'stdout');
    q.push('\r 50%|#####     | 10/20 [00:01<00:01, 9.90it/s]', 'stderr');
    assert.equal(q.end()?.fraction, 0.75);
  });

  it('reads tqdm bars redrawn with \\r, even cut mid-line across chunks', () => {
    const bar = (k: number) =>
      `\r${String(k * 10).padStart(3)}%|${'█'.repeat(k)}${' '.repeat(10 - k)}| ${k * 10}/100 [00:0${k}<00:10, 9.87it/s]`;
    const text = Array.from({ length: 11 }, (_, k) => bar(k)).join('') + '\n';
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 7) chunks.push(text.slice(i, i + 7));
    const got = progressOf(chunks);
    assert.deepEqual(
      got,
      [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1].filter((x) => got.includes(x)),
    );
    assert.equal(got[got.length - 1], 1);
    assert.ok(got.length >= 9);
  });

  it('Hugging Face Trainer: the global bar counts, its evaluation bars do not', () => {
    const p = new ProgressParser();
    p.push('\r 30%|███       | 300/1000 [01:00<02:20,  5.00it/s]\n');
    assert.equal(p.fraction, 0.3);
    assert.equal(p.push('\r 50%|█████     | 25/50 [00:01<00:01, 20.0it/s]\n'), undefined);
    p.push("{'loss': 0.4213, 'learning_rate': 4.5e-05, 'epoch': 0.9}\n");
    p.push('\r 45%|████▌     | 450/1000 [01:30<01:50,  5.00it/s]\n');
    assert.equal(p.fraction, 0.45);
  });

  it('PyTorch tutorial lines: epoch and step within it', () => {
    assert.deepEqual(
      progressOf(
        'Epoch [1/5], Step [100/200], Loss: 0.31\nEpoch [1/5], Step [200/200], Loss: 0.2\nEpoch [2/5], Step [100/200], Loss: 0.1\n',
      ),
      [0.1, 0.2, 0.3],
    );
  });

  it('plain "epoch k/N" with metrics is reported at the end of epoch k', () => {
    assert.deepEqual(progressOf('loading data\nepoch 1/10 loss=0.9\nepoch 2/10 loss=0.8\n'), [0.1, 0.2]);
    assert.deepEqual(progressOf('step 300/1000 loss 0.5\niteration 40 of 100\n'), [0.3]);
  });

  it('tqdm with an epoch description, and Lightning rich bars (0-based epochs)', () => {
    assert.deepEqual(progressOf('Epoch 3/20: 100%|██████████| 50/50 [00:02<00:00]\n'), [0.15]);
    assert.deepEqual(
      progressOf('Epoch 0/9  ━━━━━━━ 50/100 0:00:04\nEpoch 1/9  ━━━━━━━ 50/100 0:00:04\n'),
      [0.05, 0.15],
    );
  });

  it("Lightning's tqdm bar without a total of epochs gives no run progress", () => {
    assert.deepEqual(progressOf('Epoch 2:  45%|████▌     | 45/100 [00:10<00:12,  4.50it/s, v_num=0]\n'), []);
  });

  it('percentages only where they are progress', () => {
    assert.deepEqual(progressOf('Progress: 12.5%\n40% complete\n'), [0.125, 0.4]);
    assert.deepEqual(progressOf('val accuracy 95%\nGPU util 80%\n'), []);
  });

  it('never goes back, and ignores nonsense', () => {
    assert.deepEqual(progressOf('step 50/100\nstep 10/100\nstep 200/100\nstep 60/100\n'), [0.5, 0.6]);
    assert.equal(parseProgressLine('copied 3/4 files'), undefined);
    assert.equal(parseProgressLine('2024/05/06 12:00 started'), undefined);
  });

  it('strips colour and cursor escapes and bounds an endless line', () => {
    assert.equal(stripAnsi('\x1b[2K\x1b[1A\x1b]0;title\x07ok'), 'ok');
    const p = new ProgressParser();
    p.push('x'.repeat(100_000));
    assert.equal(p.push('\nstep 1/2\n')?.fraction, 0.5);
  });
});
