/**
 * `gitstate doctor`: checks of the whole repository that no single write
 * makes. `--secrets` scans every commit reachable from HEAD for secrets
 * (see security/held.ts): each is reported with the commit that added it, the
 * file, where in it and the rule, never the value.
 */
import type { StateRepo } from '../core/repo.js';
import { loadAllowList } from '../security/allow.js';
import { scanHistory, type HistoryScan } from '../security/held.js';

export interface DoctorOptions {
  secrets?: boolean;
}

export interface DoctorReport {
  secrets?: HistoryScan;
}

/** Run the checks asked for (all of them when none is). */
export async function doctor(repo: StateRepo, options: DoctorOptions = {}): Promise<DoctorReport> {
  const all = !options.secrets;
  const report: DoctorReport = {};
  if (all || options.secrets) report.secrets = await scanHistory(await repo.store(), await loadAllowList(repo.dir));
  return report;
}

/** Did any check find something? */
export function doctorFound(report: DoctorReport): boolean {
  return (report.secrets?.findings.length ?? 0) > 0;
}
