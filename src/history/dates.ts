/**
 * Dates where the CLI accepts one (`log --since`). A small grammar, so the
 * accepted forms can be listed in one line of an error:
 *
 *   2026-11-01, 2026-11-01 14:30, 2026-11-01T14:30:00Z   a date (local time unless a zone is given)
 *   now, today, yesterday                                 today/yesterday: the start of that day, local time
 *   2 days ago, 1 hour ago, 3 weeks ago                   N second|minute|hour|day|week|month|year(s) ago
 *   90s, 30m, 1h, 2d, 1w                                  the same, short: N s|m|h|d|w before now
 */
import { UsageError } from '../errors.js';

export const DATE_FORMS = 'a date (2026-11-01, 2026-11-01 14:30, ISO 8601), now, today, yesterday, "N days ago" (seconds, minutes, hours, days, weeks, months, years) or 30m, 1h, 2d, 1w';

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const WORD_UNITS: Record<string, string> = { second: 's', sec: 's', minute: 'm', min: 'm', hour: 'h', day: 'd', week: 'w', month: 'month', year: 'year' };

/** The time `text` names, relative ones counted back from `now`; a UsageError naming the accepted forms otherwise. */
export function parseDate(text: string, option: string, now: Date = new Date()): Date {
  const input = text.trim().toLowerCase();
  if (input === 'now') return new Date(now);
  if (input === 'today') return startOfDay(now, 0);
  if (input === 'yesterday') return startOfDay(now, 1);
  const short = /^(\d+)\s*([smhdw])$/.exec(input);
  if (short) return new Date(now.getTime() - Number(short[1]) * UNIT_MS[short[2]!]!);
  const ago = /^(\d+)\s+([a-z]+?)s?\s+ago$/.exec(input);
  if (ago && WORD_UNITS[ago[2]!]) return back(now, Number(ago[1]), WORD_UNITS[ago[2]!]!);
  if (/^\d{4}-\d{2}-\d{2}([ t]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?)?$/.test(input)) {
    // a date alone is local midnight (Date.parse would read it as UTC)
    const local = input.length === 10 ? `${input}T00:00` : input.replace(' ', 'T');
    const date = new Date(local.toUpperCase());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(`${option} needs ${DATE_FORMS}; got "${text}"`);
}

function startOfDay(now: Date, daysBack: number): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack);
}

function back(now: Date, n: number, unit: string): Date {
  if (unit === 'month') return new Date(now.getFullYear(), now.getMonth() - n, now.getDate(), now.getHours(), now.getMinutes(), now.getSeconds());
  if (unit === 'year') return new Date(now.getFullYear() - n, now.getMonth(), now.getDate(), now.getHours(), now.getMinutes(), now.getSeconds());
  return new Date(now.getTime() - n * UNIT_MS[unit]!);
}
