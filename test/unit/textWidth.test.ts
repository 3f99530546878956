import * as assert from 'node:assert/strict';
import { displayWidth, padEndColumns, truncateColumns } from '../../src/core/textWidth';

describe('textWidth: terminal columns', () => {
  it('counts a CJK character or an emoji as two columns, a combining mark or a joiner as none', () => {
    const cases: [string, number][] = [
      ['', 0],
      ['resnet-50 run', 13],
      ['训练', 4],
      ['한국어', 6],
      ['ｶﾀｶﾅ', 4], // half-width katakana: one column each
      ['ＡＢ', 4], // full-width Latin
      ['café', 4],
      ['cafe\u0301', 4], // e + combining acute: one grapheme
      ['👍', 2],
      ['👨‍👩‍👧', 2], // three emoji joined by ZWJ: one grapheme
      ['🇫🇷', 2], // a flag: two regional indicators
      ['❤️', 2], // text-default heart with VS16: drawn as an emoji
      ['❤', 1], // without: text presentation
      ['a\u200bb', 2], // zero-width space
      ['Ω≈ç√', 4],
    ];
    for (const [s, w] of cases) assert.equal(displayWidth(s), w, JSON.stringify(s));
  });

  it('pads to a width in columns', () => {
    assert.equal(padEndColumns('训练', 6), '训练  ');
    assert.equal(padEndColumns('abc', 2), 'abc');
    assert.equal(displayWidth(padEndColumns('👨‍👩‍👧x', 10)), 10);
  });

  it('cuts in whole graphemes to at most the width, the cut marked with …', () => {
    for (const s of [
      '训练模型的实验名称很长很长很长很长很长很长',
      '👍'.repeat(20),
      '🇫🇷🇩🇪'.repeat(10),
      'cafe\u0301 '.repeat(10),
      'finetune llama 训练 run with a long name',
    ]) {
      const t = truncateColumns(s, 28);
      assert.ok(displayWidth(t) <= 28, `${t}: ${displayWidth(t)} columns`);
      assert.ok(t.endsWith('…'), t);
      assert.ok(s.startsWith(t.slice(0, -1).trimEnd()), `a prefix of the whole: ${t}`);
      assert.doesNotMatch(t, /[\ud800-\udbff](?![\udc00-\udfff])/, 'no half of a surrogate pair');
    }
    assert.equal(truncateColumns('short', 28), 'short');
    assert.equal(truncateColumns('alpha beta gamma delta epsilon zeta', 20), 'alpha beta gamma…', 'between two words');
    assert.equal(
      displayWidth(truncateColumns('训练'.repeat(20), 28)),
      27,
      'a wide character that does not fit is left out',
    );
  });
});
