// @ts-check
'use strict';
// TEST-ONLY (UI tests): a notebook controller on a real ipykernel, from the compiled test helpers
// (out/test/helpers/notebookController.js: run `npm run compile-tests` first), and one command that opens
// notebooks/train.ipynb of the workspace, selects that controller and runs every cell. Plain JS, no build.
const path = require('path');
const os = require('os');
const fs = require('fs');
const vscode = require('vscode');
const { TestKernelController } = require('../../out/test/helpers/notebookController.js');

const EXTENSION_ID = 'carbon-meter.carbon-meter-notebook-fixture';

/** @param {vscode.ExtensionContext} context */
function activate(context) {
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-fixture-jupyter-'));
  const controller = new TestKernelController(vscode, runtimeDir, 'carbon-meter-fixture-ipykernel');
  context.subscriptions.push(
    { dispose: () => controller.dispose() },
    { dispose: () => fs.rmSync(runtimeDir, { recursive: true, force: true }) },
    vscode.commands.registerCommand('carbonMeterNotebookFixture.openAndRun', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) throw new Error('no workspace folder');
      const nb = await vscode.workspace.openNotebookDocument(
        vscode.Uri.file(path.join(folder.uri.fsPath, 'notebooks', 'train.ipynb')),
      );
      await vscode.window.showNotebookDocument(nb);
      controller.controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
      await vscode.commands.executeCommand('notebook.selectKernel', {
        id: controller.controller.id,
        extension: EXTENSION_ID,
      });
      await vscode.commands.executeCommand('notebook.execute', nb.uri);
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
