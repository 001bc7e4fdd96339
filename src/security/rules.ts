/**
 * The secret guard's rules, as data.
 *
 * Content rules say a text is a credential because of what it looks like; they
 * apply to every byte a commit adds (file text, keys, values, names, the
 * message, the author). Key-name rules say a value is a secret because of the
 * key it sits under; they apply to keys and values only.
 *
 * Every pattern is linear in its input: literal prefixes, bounded repeats, no
 * nested quantifiers. They run on each write and inside StateManager.set.
 */

export interface ContentRule {
  id: string;
  /** Global, so every occurrence is found. Group 1, when present, is the secret part (the password of a URL). */
  pattern: RegExp;
  /** The text must also match this for the rule to apply (the shape of an ADO.NET connection string). */
  context?: RegExp;
}

const notAlnumBefore = '(?<![A-Za-z0-9])';

export const CONTENT_RULES: readonly ContentRule[] = [
  { id: 'private-key', pattern: /-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----/g },
  { id: 'github-token', pattern: new RegExp(`${notAlnumBefore}(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})`, 'g') },
  { id: 'gitlab-token', pattern: new RegExp(`${notAlnumBefore}gl(?:pat|dt|rt|cbt|ptt|ft|imt|agent|oas|soat)-[A-Za-z0-9_-]{20,255}`, 'g') },
  { id: 'aws-access-key', pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Z0-9])/g },
  { id: 'aws-secret-key', pattern: /aws_?secret_?access_?key["']?\s{0,5}[:=]\s{0,5}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi },
  { id: 'slack-token', pattern: new RegExp(`${notAlnumBefore}xox[abposre]-[A-Za-z0-9-]{10,255}`, 'g') },
  { id: 'slack-webhook', pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{20,255}/g },
  { id: 'google-api-key', pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { id: 'google-oauth-secret', pattern: /GOCSPX-[A-Za-z0-9_-]{28}/g },
  { id: 'google-oauth-token', pattern: new RegExp(`${notAlnumBefore}ya29\\.[0-9A-Za-z_-]{30,2048}`, 'g') },
  { id: 'stripe-key', pattern: new RegExp(`${notAlnumBefore}(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,255}`, 'g') },
  { id: 'stripe-webhook-secret', pattern: new RegExp(`${notAlnumBefore}whsec_[A-Za-z0-9]{32,255}`, 'g') },
  { id: 'npm-token', pattern: new RegExp(`${notAlnumBefore}npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])`, 'g') },
  { id: 'pypi-token', pattern: /pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}/g },
  { id: 'huggingface-token', pattern: new RegExp(`${notAlnumBefore}hf_[A-Za-z0-9]{34,64}(?![A-Za-z0-9])`, 'g') },
  { id: 'anthropic-key', pattern: new RegExp(`${notAlnumBefore}sk-ant-[A-Za-z0-9_-]{20,255}`, 'g') },
  { id: 'openai-key', pattern: new RegExp(`${notAlnumBefore}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,255}T3BlbkFJ[A-Za-z0-9_-]{16,255}`, 'g') },
  { id: 'sendgrid-key', pattern: /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/g },
  { id: 'jwt', pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,4096}/g },
  // scheme://user:password@host; group 1 is the password (placeholders are let through)
  { id: 'connection-string', pattern: /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s:@/?#'"]{0,256}:([^\s@/?#'"]{1,256})@[^\s/?#'"]{1,256}/g },
  // Server=...;User Id=...;Password=...;
  {
    id: 'connection-string',
    pattern: /(?<![A-Za-z0-9])(?:password|pwd)\s{0,5}=\s{0,5}([^;\s'"]{1,256})/gi,
    context: /(?:server|host|data source|user id|uid|database|initial catalog)\s{0,5}=[^;]{0,256};/i,
  },
];

/**
 * "-----BEGIN" as base64 at each of the three byte alignments, minus the
 * characters the neighbouring bytes change: a PEM block wrapped in base64 (a
 * plain string, or `!!binary`) contains one of them.
 */
export const BASE64_PEM_SIGNATURES: readonly string[] = [0, 1, 2].map((offset) => {
  const encoded = Buffer.concat([Buffer.alloc(offset), Buffer.from('-----BEGIN')]).toString('base64');
  const start = offset === 0 ? 0 : offset === 1 ? 2 : 3;
  const tail = (offset + 10) % 3; // bytes in the last, partial quantum
  const end = encoded.replace(/=+$/, '').length - (tail === 0 ? 0 : 1);
  return encoded.slice(start, end);
});

/** Values under sensitive keys that are clearly not secrets: references to a secret kept elsewhere, and placeholders. */
export const PLACEHOLDER =
  /^(?:\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[^>]*>|\{\{[^}]*\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}|%s|%\([A-Za-z_]+\)s|\*+|x+|X+|\.{3}|\u2026|redacted|\[redacted[^\]]*\]|changeme|none|null|nil|todo|tbd|env:[\w-]+|vault:\S+|op:\/\/\S+|password|pass|secret)$/i;

/** Last words that make a key sensitive (`db_password`, `githubToken`, `client-secret`). */
export const SENSITIVE_WORDS: ReadonlySet<string> = new Set([
  'password',
  'passwords',
  'passwd',
  'passphrase',
  'passphrases',
  'secret',
  'secrets',
  'token',
  'credential',
  'credentials',
  'apikey',
  'privatekey',
  'accesskey',
  'secretkey',
  'authtoken',
]);

/** Last two words that make a key sensitive where the last alone does not (`api_key`, not `primary_key`). */
export const SENSITIVE_PAIRS: ReadonlySet<string> = new Set([
  'api key',
  'private key',
  'access key',
  'secret key',
  'signing key',
  'encryption key',
  'master key',
  'client key',
]);

/** Under a sensitive key, a leaf with one of these keys stands for the secret itself (`password: {value: …}`). */
export const GENERIC_LEAF_KEYS: ReadonlySet<string> = new Set(['value', 'key', 'data']);

/**
 * Ways of spelling data that hide a key's letters or a value from the raw
 * text: escapes, binary, tags, explicit `? ` keys, aliases. Text with none of
 * these (and no sensitive word before a `:`) needs only the content rules.
 */
export const STRUCTURE_HINT = /\\|!!binary|tag:yaml\.org,2002:binary|!<|%TAG|^[ \t-]*\?(?:[ \t]|$)|(?:^|[\s,[{])\*[^\s,\]}]/m;

/** ISO 8601 / YAML timestamps: never a secret by name. */
export const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[ \t]*(?:Z|[+-]\d{1,2}(?::?\d{2})?))?)?$/;
