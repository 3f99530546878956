// @ts-check
'use strict';
// Test only, never shipped (the product does not depend on it): the `debugpy` debugger type, served by debugpy's
// own adapter, registered the way the Python Debugger extension (ms-python.debugpy) registers it, so that Carbon
// Meter's extension-host tests debug Python with the real adapter offline (Debian's python3-debugpy):
// - "launch", "attach" with "processId" or "listen": the adapter runs as `<python> -m debugpy.adapter` (the
//   Python Debugger extension runs its bundled copy of the same package);
// - "attach" with "connect" (or the older "host"/"port"): the adapter is already listening there (started by
//   `python -m debugpy --listen` or debugpy.listen() in the debuggee), so VS Code connects to it;
// - "debugpyAttach" (a debuggee started a subprocess, "subProcess": true): a child session is started with the
//   body debugpy sent ("request": "attach", "subProcessId", "connect"), under the parent session.
// Plain JS, no build. Loaded by test/harness (runExthost.ts) because package.json says "carbonMeterTestExtension".
const os = require('os');
const path = require('path');
const vscode = require('vscode');

/** The interpreter that runs the adapter: "debugAdapterPython", else the debuggee's "python", else python3. */
function adapterPython(config) {
  if (typeof config.debugAdapterPython === 'string') return config.debugAdapterPython;
  if (typeof config.python === 'string') return config.python;
  if (Array.isArray(config.python) && typeof config.python[0] === 'string') return config.python[0];
  return 'python3';
}

/** @type {vscode.DebugAdapterDescriptorFactory} */
const factory = {
  createDebugAdapterDescriptor(session) {
    const config = session.configuration;
    if (config.request === 'attach') {
      if (config.connect !== undefined) {
        return new vscode.DebugAdapterServer(Number(config.connect.port), config.connect.host ?? '127.0.0.1');
      }
      if (config.port !== undefined)
        return new vscode.DebugAdapterServer(Number(config.port), config.host ?? '127.0.0.1');
      if (config.listen === undefined && config.processId === undefined) {
        throw new Error('"request": "attach" needs "connect", "listen" or "processId"');
      }
    }
    const logArgs = config.logToFile ? ['--log-dir', path.join(os.tmpdir(), 'carbon-meter-debugpy-logs')] : [];
    return new vscode.DebugAdapterExecutable(adapterPython(config), ['-m', 'debugpy.adapter', ...logArgs]);
  },
};

/** @param {vscode.ExtensionContext} context */
function activate(context) {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('debugpy', factory),
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== 'debugpy' || e.event !== 'debugpyAttach') return;
      const config = { ...e.body };
      const folder =
        vscode.workspace.workspaceFolders?.find((f) => f.uri.fsPath === config.workspaceFolder) ??
        e.session.workspaceFolder;
      vscode.debug.startDebugging(folder, config, { parentSession: e.session, lifecycleManagedByParent: true }).then(
        (ok) => {
          if (!ok)
            console.error(`debugpy fixture: the child session for subprocess ${config.subProcessId} did not start`);
        },
        (err) => console.error(`debugpy fixture: the child session for subprocess ${config.subProcessId}: ${err}`),
      );
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
