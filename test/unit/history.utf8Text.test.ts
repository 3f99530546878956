import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LineBuffer, WRITE_GROUP, appendLineBuffer } from '../../src/core/history/append';
import { fromUtf8Bytes, isPlain, jsonBytes, utf8Bytes } from '../../src/core/history/utf8Text';

/** Strings of every kind a CSV cell or a note can bring: escapes, control characters, non-ASCII, lone surrogates. */
const STRINGS = [
  '',
  'plain ascii 0123 ~!#$%&()*+,-./:;<=>?@[]^_`{|}',
  'quote " inside',
  'back\\slash',
  'tab\tnew\nline\rcr',
  '\u0000\u0001\u001f\u007f',
  "CodeCarbon's emissions.csv (its emissions ÷ its energy)",
  'żółw 🐢 \u2028 \u2029 é',
  '\ud800 lone high',
  'lone low \udc00',
  '\ud83d',
  '日本語のプロジェクト',
  "'=HYPERLINK(1)",
  'x'.repeat(70_000),
];

describe('history: UTF-8 byte strings (utf8Text)', () => {
  it('jsonBytes gives the UTF-8 bytes of JSON.stringify, for plain, escaped and non-ASCII strings', () => {
    for (const s of STRINGS) {
      const bytes = jsonBytes(s);
      assert.ok(/^[\0-\xff]*$/.test(bytes), 'one byte per character');
      assert.deepEqual(Buffer.from(bytes, 'latin1'), Buffer.from(JSON.stringify(s), 'utf8'), JSON.stringify(s));
      assert.equal(JSON.parse(fromUtf8Bytes(bytes)), s, 'lone surrogates come back too: JSON escapes them');
    }
  });

  it('utf8Bytes round-trips well-formed text and leaves ASCII as it is', () => {
    const wellFormed = STRINGS.filter((x) => Buffer.from(x, 'utf8').toString('utf8') === x);
    assert.equal(wellFormed.length, STRINGS.length - 3, 'the three with lone surrogates are left out');
    for (const s of wellFormed) {
      if (/^[\0-\x7f]*$/.test(s)) assert.equal(utf8Bytes(s), s);
      assert.deepEqual(Buffer.from(utf8Bytes(s), 'latin1'), Buffer.from(s, 'utf8'));
      assert.equal(fromUtf8Bytes(utf8Bytes(s)), s);
    }
  });

  it('isPlain is true exactly when JSON.stringify only adds the quotes and the text is ASCII', () => {
    for (const s of STRINGS) {
      const expected = JSON.stringify(s) === `"${s}"` && /^[\x20-\x7e]*$/.test(s);
      assert.equal(isPlain(s), expected, JSON.stringify(s.slice(0, 40)));
    }
  });
});

describe('history: LineBuffer with lines given as bytes', () => {
  /** Lines of many sizes (a few longer than a write group), some as text and some as bytes. */
  function lines(): { text: string; asBytes: boolean }[] {
    const out: { text: string; asBytes: boolean }[] = [];
    for (let k = 0; k < 400; k++) {
      const body = STRINGS[k % STRINGS.length].slice(0, k % 7 === 0 ? 70_000 : 300 + ((k * 37) % 2000));
      out.push({ text: JSON.stringify({ k, body }) + '\n', asBytes: k % 5 !== 0 });
    }
    return out;
  }

  it('holds exactly the UTF-8 of the lines, in order, whichever way each was added, in groups of whole lines', () => {
    const buf = new LineBuffer();
    const all = lines();
    for (const l of all) {
      if (l.asBytes) buf.addBytes(utf8Bytes(l.text));
      else buf.add(l.text);
    }
    const expected = Buffer.from(all.map((l) => l.text).join(''), 'utf8');
    assert.equal(buf.lines, all.length);
    assert.equal(buf.bytes, expected.length);
    const view = buf.bytesView();
    const groups = buf.groups();
    assert.deepEqual(Buffer.concat(groups.map(([a, b]) => view.subarray(a, b))), expected);
    for (const [a, b] of groups) {
      assert.equal(view[b - 1], 0x0a, 'a group ends with a whole line');
      const text = view.toString('utf8', a, b);
      assert.ok(b - a <= WRITE_GROUP || text.indexOf('\n') === text.length - 1, 'a group over the limit is one line');
    }
  });

  it('appends the same bytes to a file as the lines encoded one by one, and starts afresh after clear()', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-linebuffer-'));
    try {
      const file = path.join(dir, 'history.jsonl');
      const buf = new LineBuffer();
      const all = lines();
      buf.addBytes(utf8Bytes('{"dropped":true}\n'));
      buf.clear();
      assert.equal(buf.bytes, 0);
      for (const l of all.slice(0, 200)) buf.addBytes(utf8Bytes(l.text));
      appendLineBuffer(file, buf, false);
      buf.clear();
      for (const l of all.slice(200)) buf.addBytes(utf8Bytes(l.text));
      appendLineBuffer(file, buf, true);
      assert.deepEqual(fs.readFileSync(file), Buffer.from(all.map((l) => l.text).join(''), 'utf8'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
