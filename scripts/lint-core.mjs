// Superseded by ESLint (eslint.config.mjs, `npm run lint`); kept until scripts/test-all.mjs runs `npm run lint` instead.
// The layering rule of ARCHITECTURE.md: src/core and src/cli never import 'vscode'; src/webview never imports Node or core modules that touch Node.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}
const problems = [];
const vscodeImport = /(?:from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\))/;
for (const dir of ['src/core', 'src/cli', 'src/shared']) {
  try { statSync(dir); } catch { continue; }
  for (const f of files(dir)) if (vscodeImport.test(readFileSync(f, 'utf8'))) problems.push(`${f}: imports 'vscode' (the core must stay plain Node)`);
}
try {
  statSync('src/webview');
  for (const f of files('src/webview')) {
    const text = readFileSync(f, 'utf8');
    if (/from\s+['"](node:|fs|child_process|vscode)['"]/.test(text)) problems.push(`${f}: the webview runs in a browser sandbox; no Node or vscode imports`);
  }
} catch {
  // no src/webview: nothing to check
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('layering: ok (no vscode import under src/core, src/cli, src/shared; no Node import under src/webview)');
