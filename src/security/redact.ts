/**
 * Redaction: a text with its secret-looking parts replaced, for the names,
 * subjects and messages gitstate must print or record. Depends on the rules
 * alone, so the lowest layers (file-name checks) can use it.
 */
import { BASE64_PEM_SIGNATURES, CONTENT_RULES, PLACEHOLDER } from './rules.js';

export const REDACTED = '[redacted]';

const PRIVATE_KEY_BLOCK = /-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)/g;

/** A value that stands for a secret kept elsewhere (`${DB_PASSWORD}`, `<token>`, `***`). */
export function isPlaceholder(text: string): boolean {
  return PLACEHOLDER.test(text.trim());
}

/** `text` with every content-rule match replaced by a marker: for names and subjects that must be printed. */
export function redactText(text: string): string {
  // a private key goes whole, body and all (the rule matches its first line), to its end line or the text's end
  let out = text.replace(PRIVATE_KEY_BLOCK, REDACTED);
  for (const rule of CONTENT_RULES) {
    if (rule.context && !rule.context.test(out)) continue;
    rule.pattern.lastIndex = 0;
    out = out.replace(rule.pattern, (match: string, group: unknown) =>
      typeof group === 'string' && !isPlaceholder(group) ? match.replace(group, REDACTED) : typeof group === 'string' ? match : REDACTED,
    );
  }
  for (const signature of BASE64_PEM_SIGNATURES) if (out.includes(signature)) out = out.split(signature).join(REDACTED);
  return out;
}
