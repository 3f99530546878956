/**
 * balance.ts: whether Python source has every bracket and string closed, as Python's tokenizer reads it; and the
 * incremental detector's use of it (an unclosed bracket typed in a big file is read as an error of the edited lines,
 * not by re-parsing the whole file at every keystroke).
 */
import * as assert from 'node:assert/strict';
import { BalanceScan, lexicallyBalanced } from '../../src/core/codelens/balance';
import { rng } from '../helpers/random';
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

  it('the scan of an edited text, carried from the scan before, always agrees with a scan from the top', () => {
    // pieces of Python that change what the scanner reads: brackets, quotes of every kind, comments, escapes, lines
    const pieces = [
      '(',
      ')',
      '[',
      ']',
      '{',
      '}',
      '"',
      "'",
      '"""',
      "'''",
      '#',
      '\\',
      '\n',
      '\r\n',
      'x',
      ' ',
      'f"',
      "r'",
    ];
    const piece = (rand: () => number) => pieces[Math.floor(rand() * pieces.length)];
    let agreed = 0;
    let balancedSeen = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const rand = rng(seed);
      // a balanced start (def lines with calls), then edits that open and close things
      let text = '';
      for (let k = 0; k < 40; k++) text += `def f${k}(x):\n    y = g(x, [1, {2: "a"}])  # c\n    return y\n`;
      let scan = BalanceScan.of(text);
      for (let step = 0; step < 120; step++) {
        const a = Math.floor(rand() * (text.length + 1));
        const cut = rand() < 0.5 ? 0 : Math.floor(rand() * 6);
        const oldEnd = Math.min(text.length, a + cut);
        let insert = '';
        for (let k = Math.floor(rand() * 3); k > 0; k--) insert += piece(rand);
        const next = text.slice(0, a) + insert + text.slice(oldEnd);
        // the edit as the detector finds it: a common prefix and suffix
        let p = 0;
        while (p < text.length && p < next.length && text[p] === next[p]) p++;
        let q = 0;
        while (q < text.length - p && q < next.length - p && text[text.length - 1 - q] === next[next.length - 1 - q])
          q++;
        scan = scan.edited(next, { a: p, oldEnd: text.length - q, newEnd: next.length - q });
        const fresh = BalanceScan.of(next).balanced;
        assert.equal(
          scan.balanced,
          fresh,
          `seed ${seed}, step ${step}: ${JSON.stringify(next.slice(Math.max(0, p - 40), p + 40))}`,
        );
        agreed++;
        if (fresh) balancedSeen++;
        text = next;
        // now and then the text is made whole again, so that both answers are asked often
        if (rand() < 0.1) {
          text = text.replace(/[()[\]{}"'#\\]/g, '');
          scan = BalanceScan.of(text);
        }
      }
    }
    assert.equal(agreed, 60 * 120);
    // edits whose rest of the text closes a bracket opened before them: the old scan cannot stand for that rest
    const cases: [string, string][] = [
      ['x = [\n  1,\n]\ny = 2\n', 'x = (\n  1,\n]\ny = 2\n'], // the kind of an open bracket changed
      ['x = (\n  1,\n)\ny = 2\n', 'x = \n  1,\n)\ny = 2\n'], // the opener removed
      ['x = 1\n  2,\n)\n', 'x = (1\n  2,\n)\n'], // an opener for a stray closer
      ['s = 1\nt = 2\n', 's = """1\nt = 2\n'], // a string opened over the rest
      ['s = """1\nt = 2\n"""\n', 's = 1\nt = 2\n"""\n'], // a string's start removed: its end opens one
      ['x = 1\ny = 2\n)\n', 'x = 12\ny = 2\n)\n'], // the old scan stopped at a stray closer after the edit
      ["x = 1\ny = '2\nz = 3\n", "x = 12\ny = '2\nz = 3\n"], // … or at a string not closed
    ];
    for (const [before, after] of cases) {
      let p = 0;
      while (before[p] === after[p]) p++;
      let q = 0;
      while (
        before[before.length - 1 - q] === after[after.length - 1 - q] &&
        q < Math.min(before.length, after.length) - p
      )
        q++;
      const edit = { a: p, oldEnd: before.length - q, newEnd: after.length - q };
      assert.equal(
        BalanceScan.of(before).edited(after, edit).balanced,
        lexicallyBalanced(after),
        JSON.stringify(after),
      );
    }
    assert.ok(balancedSeen > 500 && balancedSeen < agreed - 500, `${balancedSeen} of ${agreed} texts balanced`);
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
