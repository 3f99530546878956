/**
 * The History panel's HTML in VS Code: the webview's URIs, nonce and localised text put into the page of ./page.ts.
 */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { panelPage } from './page';

export function makeNonce(): string {
  return crypto.randomBytes(18).toString('base64');
}

export interface PanelHtmlOptions {
  webview: vscode.Webview;
  extensionUri: vscode.Uri;
  /** vscode.l10n.bundle: the translations of the webview's strings, when VS Code runs in another language */
  l10n?: Record<string, string>;
  /** vscode.env.language */
  language: string;
  title: string;
  nonce?: string;
}

export function panelHtml(opts: PanelHtmlOptions): string {
  const { webview, extensionUri } = opts;
  return panelPage({
    cspSource: webview.cspSource,
    nonce: opts.nonce ?? makeNonce(),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css')).toString(),
    language: opts.language,
    title: opts.title,
    loadingText: vscode.l10n.t('Loading the history…'),
    l10n: opts.l10n,
  });
}
