'use strict';
// Fails on purpose: the harness self-check expects exit code 1 from this file.
const assert = require('assert');

describe('harness fixture (deliberate failure)', () => {
  it('fails on purpose', () => {
    assert.strictEqual(1 + 1, 3, 'this failure is expected by the self-check');
  });
});
