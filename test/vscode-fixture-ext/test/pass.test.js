'use strict';
// Runs inside the extension host (see test/harness/exthostMocha.ts).
const assert = require('assert');
const vscode = require('vscode');

describe('harness fixture (extension host)', () => {
  it('activates and runs its command', async () => {
    const ext = vscode.extensions.getExtension('carbon-meter.carbon-meter-harness-fixture');
    assert.ok(ext, 'fixture extension is loaded');
    const api = await ext.activate();
    const before = api.getCount();
    const result = await vscode.commands.executeCommand('harnessFixture.sayHello');
    assert.strictEqual(result, before + 1);
    assert.strictEqual(api.getCount(), before + 1);
  });
});
