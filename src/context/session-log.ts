/**
 * The session log, as the original's `memory_session_log` keeps it:
 * `sessions/YYYY-MM-DD.yaml` with `date` and a list of `entries`
 * `{time: "HH:MM:SS", action, details}`. Date and time are local (TZ honoured)
 * and come from one clock reading, so an entry made at 20:38 on Dec 1 in Los
 * Angeles goes into Dec 1's file. `details` is left out when there are none.
 */
import type { StateRepo, WriteResult } from '../core/repo.js';
import { systemClock, type Clock } from '../base/clock.js';

export interface SessionLogEntry {
  action: string;
  details?: string;
}

export interface SessionLogResult extends WriteResult {
  /** The file the entry went into, e.g. sessions/2026-12-01.yaml. */
  file: string;
  entry: { time: string; action: string; details?: string };
}

const SUBJECT_MAX = 72;

export async function appendSessionLog(repo: StateRepo, input: SessionLogEntry, clock: Pick<Clock, 'now'> = systemClock): Promise<SessionLogResult> {
  const { date, time } = localDateTime(new Date(clock.now()));
  const file = `sessions/${date}.yaml`;
  const entry: SessionLogResult['entry'] = { time, action: input.action };
  if (input.details) entry.details = input.details;
  const result = await repo.transaction(
    async (tx) => {
      const existing = (await tx.get(file).catch(() => null)) as Record<string, unknown> | null;
      if (!existing?.date) await tx.set(file, 'date', date);
      await tx.append(file, 'entries', entry);
    },
    { subject: commitSubject(`session log ${date}: ${input.action}`) },
  );
  return { ...result, file, entry };
}

/** Local calendar date and wall-clock time of one instant: `YYYY-MM-DD`, `HH:MM:SS`. */
export function localDateTime(at: Date): { date: string; time: string } {
  const two = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${String(at.getFullYear()).padStart(4, '0')}-${two(at.getMonth() + 1)}-${two(at.getDate())}`,
    time: `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`,
  };
}

/** One line: control characters, line and paragraph separators folded to spaces, cut to a subject's length (in characters). */
export function commitSubject(text: string): string {
  const line = text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return chars.length <= SUBJECT_MAX ? line : `${chars.slice(0, SUBJECT_MAX - 1).join('').trimEnd()}…`;
}
