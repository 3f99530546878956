'use strict';
// Kills the extension host mid-run: the workbench then still reports exit code
// 0, and the harness must turn the missing completion record into a failure.
describe('harness fixture (host dies)', () => {
  it('kills its own extension host', () => {
    process.kill(process.pid, 'SIGKILL');
  });
});
