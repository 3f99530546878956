/**
 * The History panel's page from plain values, with no `vscode` import, so that the panel (html.ts) and the page's
 * own browser test build the very same markup: a Content Security Policy of `default-src 'none'`, one nonce'd script
 * (dist/webview.js), one stylesheet (media/panel.css), no inline handlers and no inline styles. The webview builds its
 * DOM itself.
 */

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

export interface PanelPage {
  /** the webview's source for the policy (webview.cspSource) */
  cspSource: string;
  nonce: string;
  /** where dist/webview.js and media/panel.css are served from (webview URIs) */
  scriptUri: string;
  styleUri: string;
  /** vscode.env.language */
  language: string;
  title: string;
  /** shown until the webview has drawn (localised by the caller) */
  loadingText: string;
  /** vscode.l10n.bundle: the translations of the webview's strings, when VS Code runs in another language */
  l10n?: Record<string, string>;
}

export function panelPage(p: PanelPage): string {
  return `<!DOCTYPE html>
<html lang="${escapeAttr(p.language || 'en')}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(p.styleUri)}" nonce="${escapeAttr(p.nonce)}">
<title>${escapeAttr(p.title)}</title>
</head>
<body>
<main id="app" class="app" aria-busy="true"><p class="loading">${escapeAttr(p.loadingText)}</p></main>
<script type="application/json" id="cm-l10n">${inertJson(p.l10n)}</script>
<script nonce="${escapeAttr(p.nonce)}" src="${escapeAttr(p.scriptUri)}"></script>
</body>
</html>`;
}
