// @ts-check
'use strict';
// A throwaway extension for validating test/harness: commands, a status bar
// item, a webview panel and a shell-integration listener. Plain JS, no build.
const vscode = require('vscode');

/** @param {vscode.ExtensionContext} context */
function activate(context) {
  let count = 0;
  let lastCommandLine = '';
  const item = vscode.window.createStatusBarItem('harnessFixture.status', vscode.StatusBarAlignment.Left, 100);
  item.name = 'Harness Fixture';
  item.text = '$(beaker) Fixture: ready';
  item.command = 'harnessFixture.sayHello';
  item.show();

  context.subscriptions.push(
    item,
    vscode.commands.registerCommand('harnessFixture.sayHello', () => {
      count += 1;
      item.text = `$(beaker) Fixture: hello ${count}`;
      return count;
    }),
    vscode.commands.registerCommand('harnessFixture.showPanel', () => {
      const panel = vscode.window.createWebviewPanel(
        'harnessFixture.panel',
        'Fixture Panel',
        vscode.ViewColumn.One,
        {},
      );
      panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
</head><body><h1 id="fixture-hello" style="color: var(--vscode-foreground)">Hello from the fixture webview (${count})</h1></body></html>`;
    }),
    // Shell integration end to end: the terminal reports the command line it ran.
    vscode.window.onDidStartTerminalShellExecution((e) => {
      lastCommandLine = e.execution.commandLine.value;
      item.text = `$(beaker) Fixture: ran ${lastCommandLine}`;
    }),
  );

  return {
    getCount: () => count,
    getLastCommandLine: () => lastCommandLine,
  };
}

function deactivate() {}

module.exports = { activate, deactivate };
