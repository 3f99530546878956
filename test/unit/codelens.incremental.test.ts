/**
 * Detection that follows edits (PythonDocument): after any sequence of edits, whenever the text parses without a
 * syntax error, the statements it holds and the lenses it gives equal those of a fresh full parse of the same text.
 * Edits are random (seeded) over the real files of the corpus: characters typed and deleted, lines inserted,
 * deleted, indented and dedented, decorators and `else:` clauses typed, brackets left open and closed again.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DocumentDetectors,
  detectTrainingEntrypointsSync,
  initDetector,
  PythonDocument,
} from '../../src/core/codelens';
import { parsePython } from '../../src/core/codelens/parser';
import { scanStatements } from '../../src/core/codelens/python';

const CORPUS = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'codelens', 'corpus');

function mulberry32(a: number): () => number {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random edit of `text`: what a person typing might do. */
function randomEdit(text: string, rand: () => number): string {
  const lines = text.split('\n');
  const row = Math.floor(rand() * lines.length);
  const line = lines[row];
  const col = Math.floor(rand() * (line.length + 1));
  const pieces = [
    'x',
    '(',
    ')',
    ':',
    '    ',
    '@decorator',
    'else:',
    '"""',
    '\\',
    'model.fit(X, y)',
    'optimizer.step()',
    'def train():',
    'for epoch in range(3):',
  ];
  switch (Math.floor(rand() * 8)) {
    case 0: // type a character or a piece
      lines[row] = line.slice(0, col) + pieces[Math.floor(rand() * pieces.length)] + line.slice(col);
      break;
    case 1: // delete a character
      lines[row] = line.slice(0, col) + line.slice(col + 1);
      break;
    case 2: // insert a line
      lines.splice(row, 0, ' '.repeat(4 * Math.floor(rand() * 3)) + pieces[Math.floor(rand() * pieces.length)]);
      break;
    case 3: // delete a line
      lines.splice(row, 1);
      break;
    case 4: // indent
      lines[row] = '    ' + line;
      break;
    case 5: // dedent
      lines[row] = line.replace(/^ {1,4}/, '');
      break;
    case 6: // join with the next line
      if (row + 1 < lines.length) lines.splice(row, 2, line + lines[row + 1]);
      break;
    default:
      {
        // cut a block of lines and paste it elsewhere
        const cut = lines.splice(row, 1 + Math.floor(rand() * 5));
        lines.splice(Math.floor(rand() * (lines.length + 1)), 0, ...cut);
      }
      break;
  }
  return lines.join('\n');
}

function parsesCleanly(text: string): boolean {
  const tree = parsePython(text);
  try {
    return !tree.rootNode.hasError;
  } finally {
    tree.delete();
  }
}

describe('CodeLens: detection that follows edits', () => {
  before(async () => initDetector());

  it('equals a full parse after every edit that leaves valid Python, over random edits of the corpus', () => {
    const files = fs
      .readdirSync(CORPUS)
      .filter((f) => f.endsWith('.py'))
      .sort();
    const rand = mulberry32(20261126);
    let compared = 0;
    let reparsedOnly = 0;
    const reused = [0, 0];
    for (const file of files) {
      const original = fs.readFileSync(path.join(CORPUS, file), 'utf8');
      const doc = new PythonDocument();
      let text = original;
      doc.detect(text);
      for (let step = 0; step < 12; step++) {
        // every third edit undoes what came before: back to the original, a valid file
        text = step % 3 === 2 ? original : randomEdit(text, rand);
        const lenses = doc.detect(text);
        if (!doc.lastFull) reparsedOnly++;
        reused[doc.lastReused ? 1 : 0]++;
        if (!parsesCleanly(text)) continue;
        compared++;
        const where = `${file}, edit ${step}`;
        assert.deepEqual(
          doc.statementLines(),
          scanStatements(text).map((s) => ({ line: s.line, text: s.text, blockEnd: s.blockEnd })),
          `statements after ${where}`,
        );
        assert.deepEqual(lenses, detectTrainingEntrypointsSync(text), `lenses after ${where}`);
      }
      doc.dispose();
    }
    assert.ok(compared >= files.length * 4, `${compared} comparisons`);
    assert.ok(reparsedOnly >= compared, `${reparsedOnly} edits re-read only part of the file`);
    // both paths were taken: lenses chosen again, and the lenses kept (at their new lines) when what they read held
    assert.ok(reused[0] >= files.length && reused[1] >= files.length, `chosen again ${reused[0]}, kept ${reused[1]}`);
  });

  it('keeps the lenses only when choosing again gives the same: random edits of the real-world corpus', () => {
    const dir = path.join(CORPUS, '..', 'realworld', 'tune');
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.py'))
      .sort();
    const rand = mulberry32(20261127);
    let kept = 0;
    for (const file of files) {
      const original = fs.readFileSync(path.join(dir, file), 'utf8');
      const doc = new PythonDocument();
      let text = original;
      doc.detect(text);
      for (let step = 0; step < 6; step++) {
        text = step % 3 === 2 ? original : randomEdit(text, rand);
        const lenses = doc.detect(text);
        if (doc.lastReused) kept++;
        if (!parsesCleanly(text)) continue;
        assert.deepEqual(lenses, detectTrainingEntrypointsSync(text), `lenses after ${file}, edit ${step}`);
      }
      doc.dispose();
    }
    assert.ok(kept >= files.length, `${kept} edits kept the lenses`);
  });

  it('re-parses only the top-level statement an edit touched, and moves the ones below', () => {
    const head = 'import torch\n\n\ndef helper(x):\n    return x * 2\n\n\n';
    const body =
      'def main():\n    model = Net()\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n    for epoch in range(3):\n        loss = model(x).sum()\n        loss.backward()\n        opt.step()\n\n\n';
    const tail = 'if __name__ == "__main__":\n    main()\n';
    const doc = new PythonDocument();
    const before = doc.detect(head + body + tail);
    assert.deepEqual(
      before.map((e) => [e.kind, e.line]),
      [
        ['main', 16],
        ['loop', 10],
      ],
    );
    const edited = doc.detect(head + body.replace('lr=0.1', 'lr=0.01') + tail);
    assert.equal(doc.lastFull, false);
    assert.equal(doc.lastReparsed, 1);
    assert.deepEqual(edited, before);
    const moved = doc.detect(head + '# a comment\n' + body.replace('lr=0.1', 'lr=0.01') + tail);
    assert.equal(doc.lastReparsed, 1, 'the comment line and the def it was typed above');
    assert.deepEqual(
      moved.map((e) => [e.kind, e.line]),
      [
        ['main', 17],
        ['loop', 11],
      ],
    );
    doc.dispose();
  });

  it('keeps a bounded number of documents, and forgets files that cannot train', () => {
    const docs = new DocumentDetectors(2);
    const train = 'for epoch in range(3):\n    optimizer.step()\n    loss = criterion(out, y)\n';
    assert.equal(docs.detect('a', train).length, 1);
    assert.equal(docs.detect('b', train).length, 1);
    assert.equal(docs.detect('c', train).length, 1);
    assert.equal(docs.size, 2);
    assert.deepEqual(docs.detect('c', 'print("hello")\n'), []);
    assert.equal(docs.size, 1);
    docs.clear();
    assert.equal(docs.size, 0);
  });
});
