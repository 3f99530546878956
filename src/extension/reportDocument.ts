/**
 * A run's report (core/report.ts) as a read-only virtual document, shown as a rendered Markdown preview: nothing to
 * save, no escapes on screen. The document's URI names the run; its text is made again when the run finishes.
 */
import * as vscode from 'vscode';
import { runReportMarkdown } from '../core/report';
import type { MeterService } from './meterService';

export const REPORT_SCHEME = 'carbon-meter-report';

/** The URI of a run's report: carbon-meter-report:/<run id>/report.md (the .md lets Markdown pick it up). */
export function reportUri(runId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${encodeURIComponent(runId)}/report.md` });
}

function runIdOf(uri: vscode.Uri): string {
  return decodeURIComponent(uri.path.split('/')[1] ?? '');
}

export function registerReportDocuments(service: MeterService): vscode.Disposable[] {
  const changed = new vscode.EventEmitter<vscode.Uri>();
  const provider: vscode.TextDocumentContentProvider = {
    onDidChange: changed.event,
    provideTextDocumentContent(uri) {
      const id = runIdOf(uri);
      const run = service.findRun(id);
      return run ? runReportMarkdown(run) : vscode.l10n.t('Carbon Meter: run {0} is not in the history.', id);
    },
  };
  return [
    changed,
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, provider),
    service.onRunFinished((run) => {
      const uri = reportUri(run.id);
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) changed.fire(uri);
    }),
  ];
}

/** Shows a run's report rendered (the built-in Markdown preview); the plain read-only text where there is none. */
export async function showReport(runId: string): Promise<void> {
  const uri = reportUri(runId);
  const commands = await vscode.commands.getCommands(true);
  if (commands.includes('markdown.showPreview')) {
    await vscode.commands.executeCommand('markdown.showPreview', uri);
    return;
  }
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
}
