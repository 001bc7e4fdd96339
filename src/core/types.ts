/** The values a write is made of, shared by the core and the git layer beneath it. */

/** Who a commit is by. */
export interface Person {
  name: string;
  email: string;
}

/** One path of a commit: its new content, or null to remove it. */
export interface FileChange {
  /** Repo-relative POSIX path. */
  path: string;
  content: Uint8Array | null;
}
