/**
 * balance.ts: whether Python source has every bracket and string closed, as Python's tokenizer reads it; and the
 * incremental detector's use of it (an unclosed bracket typed in a big file is read as an error of the edited lines,
 * not by re-parsing the whole file at every keystroke).
 */
import * as assert from 'node:assert/strict';
import { lexicallyBalanced } from '../../src/core/codelens/balance';
import { initDetector } from '../../src/core/codelens/parser';
import { PythonDocument } from '../../src/core/codelens/incremental';

describe('codelens: lexical balance', () => {
  it('reads brackets, strings of every kind, comments and continuations as Python does', () => {
    const balanced = [
      '',
      'x = (1, [2, {3: 4}])\n',
      "s = ')]}'  # a bracket in a string\n",
      '# an unclosed ( in a comment\nx = 1\n',
      's = """multi\nline ( [ {\n"""\n',
      "s = '''a\n'''\n",
      's = "a \\" b"\n',
      "s = r'\\''\n", // a raw string: the backslash still keeps the quote from ending it
      's = f"{x!r} {y:>{w}}"\n',
      'x = "a" \\\n    "b"\n',
      's = "line \\\ncontinued"\n',
      'd = {"k": [1, 2]}\r\nprint(d)\r\n',
      's = f"{d["k"]}"\n', // Python 3.12 reuses the quote inside a field: read as two strings, still balanced
    ];
    for (const src of balanced) assert.equal(lexicallyBalanced(src), true, JSON.stringify(src));
    const open = [
      'x = (1, 2\n',
      'x = [1, 2)\n',
      'x = 1)\n',
      's = "abc\n',
      "s = 'abc\nprint(s)\n",
      's = """abc\n',
      "s = '''abc''\n",
      'print(f"{x}"\n',
      'x = "a" # "\ny = (\n',
    ];
    for (const src of open) assert.equal(lexicallyBalanced(src), false, JSON.stringify(src));
  });

  it('an unclosed bracket typed in a function re-reads only that function, and closing it restores a full parse', async () => {
    await initDetector();
    const fns: string[] = [];
    for (let k = 0; k < 200; k++) fns.push(`def f${k}(x):\n    y = x * ${k}\n    return y + 1\n`);
    const train =
      'import torch\n\nfor epoch in range(10):\n    loss = model(x)\n    loss.backward()\n    optimizer.step()\n';
    const original = fns.join('\n') + '\n' + train;
    const doc = new PythonDocument();
    const before = doc.detect(original);
    assert.ok(before.length > 0, 'the training loop has a lens');
    const at = original.indexOf('    y = x * 100');
    const typed = original.slice(0, at) + '    z = foo(\n' + original.slice(at);
    const during = doc.detect(typed);
    assert.equal(doc.lastFull, false);
    assert.ok(doc.lastReparsed <= 2, `re-parsed ${doc.lastReparsed} chunks`);
    assert.deepEqual(
      during.map((l) => l.line),
      before.map((l) => l.line + 1),
      'the lenses below keep their reading, one line down',
    );
    // a further keystroke while the bracket is open stays as cheap
    doc.detect(typed.replace('foo(\n', 'foo(a\n'));
    assert.ok(doc.lastReparsed <= 2, `re-parsed ${doc.lastReparsed} chunks`);
    // closing it: the same lenses as a fresh detection of the text
    const closed = typed.replace('foo(\n', 'foo(a)\n');
    const after = doc.detect(closed);
    const fresh = new PythonDocument().detect(closed);
    assert.deepEqual(after, fresh);
  });
});
