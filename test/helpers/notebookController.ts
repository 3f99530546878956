/**
 * A TEST-ONLY notebook controller (the extension never uses it): one real ipykernel per notebook, started from the
 * extension host the way VS Code's Jupyter extension starts it (test/helpers/jupyter.ts), cells run through
 * jupyter_client. It takes the `vscode` API as an argument, so the extension-host tests and the fixture extension
 * of the UI tests (test/vscode-fixture-notebook) share it without this file loading `vscode` itself.
 */
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { startBridge, startKernel, writeConnectionFile, type Bridge, type KernelHandle } from './jupyter';

export class TestKernelController {
  readonly controller: vscode.NotebookController;
  readonly kernels = new Map<string, { kernel: KernelHandle; bridge: Bridge }>();
  private order = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly vs: typeof vscode,
    private readonly runtimeDir: string,
    id = 'carbon-meter-test-ipykernel',
  ) {
    this.controller = vs.notebooks.createNotebookController(
      id,
      'jupyter-notebook',
      'Test ipykernel (Carbon Meter tests)',
    );
    this.controller.supportedLanguages = ['python'];
    this.controller.executeHandler = (cells, nb) => {
      this.queue = this.queue.then(() => this.execute(cells, nb));
      return this.queue;
    };
  }

  /** The notebook's kernel, started when there is none or it has exited (a restart). */
  async kernelOf(nb: vscode.NotebookDocument): Promise<{ kernel: KernelHandle; bridge: Bridge }> {
    const key = nb.uri.toString();
    let k = this.kernels.get(key);
    if (k && k.kernel.process.exitCode === null && k.kernel.process.signalCode === null) return k;
    const file = await writeConnectionFile(this.runtimeDir);
    const kernel = startKernel(file, path.dirname(nb.uri.fsPath));
    const bridge = startBridge(file);
    await bridge.ready;
    k = { kernel, bridge };
    this.kernels.set(key, k);
    return k;
  }

  private async execute(cells: vscode.NotebookCell[], nb: vscode.NotebookDocument): Promise<void> {
    const { bridge } = await this.kernelOf(nb);
    const vs = this.vs;
    for (const cell of cells) {
      const exec = this.controller.createNotebookCellExecution(cell);
      // as the Jupyter extension: the start time, then the execution order (execute_input), then the end and success
      exec.start(Date.now());
      exec.executionOrder = ++this.order;
      const r = await bridge.execute(cell.document.getText());
      await exec.replaceOutput([new vs.NotebookCellOutput([vs.NotebookCellOutputItem.text(r.error ?? r.stdout)])]);
      exec.end(r.status === 'ok', Math.max(r.endMs, Date.now()));
    }
  }

  /** Shuts the notebook's kernel down (as a restart does first) and waits for the process to exit. */
  async shutdown(nb: vscode.NotebookDocument): Promise<void> {
    const k = this.kernels.get(nb.uri.toString());
    if (!k) return;
    this.kernels.delete(nb.uri.toString());
    await k.bridge.shutdown();
    await Promise.race([k.kernel.exited, new Promise((r) => setTimeout(r, 20_000))]);
    k.kernel.process.kill('SIGKILL');
    await k.kernel.exited;
  }

  dispose(): void {
    for (const k of this.kernels.values()) {
      k.bridge.kill();
      k.kernel.process.kill('SIGKILL');
    }
    this.controller.dispose();
  }
}

/** A notebook file (nbformat 4) with these code cells. */
export function notebookJson(sources: string[]): string {
  return JSON.stringify({
    cells: sources.map((s) => ({
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source: s.split(/(?<=\n)/),
    })),
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' },
    },
    nbformat: 4,
    nbformat_minor: 4,
  });
}
