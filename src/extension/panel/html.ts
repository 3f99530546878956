/**
 * The History panel's HTML: a Content Security Policy of `default-src 'none'`, one nonce'd script (dist/webview.js),
 * one stylesheet (media/panel.css), no inline handlers and no inline styles. The webview builds its DOM itself.
 */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

export function makeNonce(): string {
  return crypto.randomBytes(18).toString('base64');
}

/** The policy: scripts by nonce only; styles from the extension (and nonce'd); images and fonts from the extension. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** JSON safe inside a <script type="application/json"> element. */
function inertJson(x: unknown): string {
  return JSON.stringify(x ?? {})
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
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
  const nonce = opts.nonce ?? makeNonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  return `<!DOCTYPE html>
<html lang="${escapeAttr(opts.language || 'en')}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(webview.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(style.toString())}" nonce="${escapeAttr(nonce)}">
<title>${escapeAttr(opts.title)}</title>
</head>
<body>
<main id="app" class="app" aria-busy="true"><p class="loading">${escapeAttr(vscode.l10n.t('Loading the history…'))}</p></main>
<script type="application/json" id="cm-l10n">${inertJson(opts.l10n)}</script>
<script nonce="${escapeAttr(nonce)}" src="${escapeAttr(script.toString())}"></script>
</body>
</html>`;
}
