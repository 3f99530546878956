/**
 * Secrets in command lines. A run's command line is kept in the history, shown in the panel and exported; the
 * well-known secret shapes in it are replaced by `***` before any of that (the setting
 * `carbonMeter.history.redactSecrets`, default on; the CLI's `--keep-secrets` turns it off for one run).
 *
 * What is redacted (the value only; the option or variable name stays, so the command still reads):
 * - options and assignments whose name ends in a secret word: `--api-key=…`, `--api_key …`, `--hf-token …`,
 *   `--password=…`, `--client-secret …`, `token=…`, `HF_TOKEN=…`, `AWS_SECRET_ACCESS_KEY=…`, `DB_PASSWORD=…`
 *   (not `--max-tokens`, `--tokenizer`, `--token-limit`: the name must end with the word);
 * - `Bearer …` credentials, and whatever follows `Authorization:` (a header given to curl);
 * - user:password@ in URLs (the password only);
 * - tokens recognisable by their prefix wherever they appear: AWS access key ids (AKIA…, ASIA…), GitHub (ghp_, gho_,
 *   ghu_, ghs_, ghr_, github_pat_), Hugging Face (hf_…), OpenAI and Anthropic (sk-…), Slack (xox…-), Google API
 *   keys (AIza…), Stripe (sk_live_, rk_live_), JSON Web Tokens (eyJ….eyJ….…).
 *
 * Patterns follow the shapes documented by each vendor (and the rules of secret scanners such as gitleaks): a false
 * positive costs a `***` in a displayed command; a false negative leaks a credential into a file that is shared.
 */

export const REDACTED = '***';

/** Words that make an option or variable a secret when its name ends with one of them. */
const SECRET_WORD =
  '(?:api[-_]?key|apikey|access[-_]?key(?:[-_]?id)?|secret[-_]?(?:access[-_]?)?key|private[-_]?key|client[-_]?secret|secret|' +
  'access[-_]?token|auth[-_]?token|refresh[-_]?token|token|password|passwd|passphrase|credentials?)';

/** A value up to the next space or quote (commands are shell-quoted: `'--token=a b'`). */
const VALUE = `[^\\s'"]+`;

interface Rule {
  re: RegExp;
  replace: (match: string, ...groups: string[]) => string;
}

const RULES: Rule[] = [
  // URLs with credentials: scheme://user:password@host → scheme://user:***@host
  {
    re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@'"]+):([^\s/@'"]+)@/gi,
    replace: (_m, scheme, user) => `${scheme}${user}:${REDACTED}@`,
  },
  // '--name=value with spaces' (a shell-quoted word): everything up to the closing quote
  {
    re: new RegExp(`(')(-{0,2}[A-Za-z0-9_.-]*?${SECRET_WORD})=([^']*)'`, 'gi'),
    replace: (_m, q, name) => `${q}${name}=${REDACTED}'`,
  },
  // --name=value, -name=value, NAME=value, name:value in "key: value" style is left alone (too ambiguous)
  {
    re: new RegExp(`(^|[\\s'"])(-{0,2}[A-Za-z0-9_.-]*?${SECRET_WORD})(=)(${VALUE})`, 'gi'),
    replace: (_m, pre, name, eq) => `${pre}${name}${eq}${REDACTED}`,
  },
  // --name value (an option, dashes required, followed by a value that is not another option)
  {
    re: new RegExp(`(^|[\\s'"])(--?[A-Za-z0-9_.-]*?${SECRET_WORD})(\\s+['"]?)(?!-)(${VALUE})`, 'gi'),
    replace: (_m, pre, name, gap) => `${pre}${name}${gap}${REDACTED}`,
  },
  // Authorization credentials
  {
    re: /\b(authorization:\s*)((?:basic|bearer|token|digest)\s+)?([^\s'"]+)/gi,
    replace: (_m, head, kind) => `${head}${kind ?? ''}${REDACTED}`,
  },
  {
    re: /\b(Bearer|BEARER|bearer)(\s+)(?!\*\*\*)([A-Za-z0-9._~+/=-]+)/g,
    replace: (_m, kind, gap) => `${kind}${gap}${REDACTED}`,
  },
  // tokens recognisable by their prefix
  { re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g, replace: () => REDACTED },
  { re: /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, replace: () => REDACTED },
  { re: /\bgithub_pat_[A-Za-z0-9_]{30,}\b/g, replace: () => REDACTED },
  { re: /\bhf_[A-Za-z0-9]{30,}\b/g, replace: () => REDACTED },
  { re: /\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g, replace: () => REDACTED },
  { re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g, replace: () => REDACTED },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replace: () => REDACTED },
  { re: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: () => REDACTED },
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, replace: () => REDACTED },
];

/** What every rule above needs somewhere in the text: most command lines skip the rules at once. */
const MAYBE_SECRET =
  /[=@]|bearer|authorization|key|secret|token|passw|passphrase|credential|akia|asia|agpa|aida|aroa|anpa|anva|aipa|gh[pousr]_|github_pat_|hf_|sk-|_live_|_test_|xox|aiza|eyj/i;

/** The text with every well-known secret replaced by `***`. Pure; the same text comes back when nothing matched. */
export function redactSecrets(text: string): string {
  if (!text || !MAYBE_SECRET.test(text)) return text;
  let out = text;
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    out = out.replace(rule.re, rule.replace as (substring: string, ...args: string[]) => string);
  }
  return out;
}

/** A run with its command line (and name, which may come from it) redacted; the same object when nothing changed. */
export function redactRun<T extends { command: string; name: string }>(run: T): T {
  const command = redactSecrets(run.command);
  const name = redactSecrets(run.name);
  if (command === run.command && name === run.name) return run;
  return { ...run, command, name };
}
