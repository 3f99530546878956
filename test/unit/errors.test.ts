import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { errorDetail, errorMessage } from '../../src/core/errors';

describe('core/errors', () => {
  it('an Error gives its message; a message-less Error its name', () => {
    assert.equal(errorMessage(new Error('disk full')), 'disk full');
    assert.equal(errorMessage(new TypeError('')), 'TypeError');
  });

  it('a real Node error (ENOENT) gives the message Node wrote', () => {
    let caught: unknown;
    try {
      fs.readFileSync('/nonexistent/carbon-meter/errors-test');
    } catch (err) {
      caught = err;
    }
    assert.match(
      errorMessage(caught),
      /^ENOENT: no such file or directory, open '\/nonexistent\/carbon-meter\/errors-test'$/,
    );
  });

  it('a thrown string, an object with a message, and other values', () => {
    assert.equal(errorMessage('plain text'), 'plain text');
    assert.equal(errorMessage({ message: 'from a rejected fetch' }), 'from a rejected fetch');
    assert.equal(errorMessage({ message: 42 }), '[object Object]');
    assert.equal(errorMessage(undefined), 'undefined');
    assert.equal(errorMessage(null), 'null');
    assert.equal(errorMessage(7), '7');
  });

  it('errorDetail keeps the stack of an Error, and falls back to the message', () => {
    const err = new RangeError('out of range');
    const detail = errorDetail(err);
    assert.ok(detail.startsWith('RangeError: out of range\n'), detail);
    assert.match(detail, /errors\.test\.js/);
    const noStack = new Error('no stack');
    noStack.stack = undefined;
    assert.equal(errorDetail(noStack), 'no stack');
    assert.equal(errorDetail('text'), 'text');
  });
});
