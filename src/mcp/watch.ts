/**
 * Watching a state repository for changes, whoever makes them: the work tree
 * (a write of this process or another, a hand edit, a pull updating files) and
 * the branch ref (any commit, including native git's and a fast-forward). The
 * watcher only says that something may have changed; the listener decides what
 * did, by looking. Folders are watched one by one (never `.git/objects`), and
 * new folders are picked up as they appear.
 */
import { watch, readdirSync, statSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

export interface RepoChange {
  /** Something under the work tree (`path`, repo-relative) or the branch ref. */
  kind: 'tree' | 'ref';
  path?: string;
  /** A name appeared or went (a file or folder made, removed or renamed over). */
  renamed: boolean;
}

export class RepoWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly onChange: (change: RepoChange) => void,
  ) {}

  start(): void {
    this.watchTree('');
    // A commit renames refs/heads/<branch>.lock over the ref; git gc moves refs into packed-refs.
    this.watchDir(join(this.dir, '.git', 'refs', 'heads'), (event, name) => {
      if (name && !name.endsWith('.lock')) this.emit({ kind: 'ref', renamed: event === 'rename' });
    });
    this.watchDir(join(this.dir, '.git'), (event, name) => {
      if (name === 'HEAD' || name === 'packed-refs') this.emit({ kind: 'ref', renamed: event === 'rename' });
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Watch a work-tree folder and, below it, every folder but git's own and the dot-folders other than `.gitstate`. */
  private watchTree(rel: string): void {
    const abs = rel ? join(this.dir, rel) : this.dir;
    if (this.watchers.has(abs)) return;
    this.watchDir(abs, (event, name) => {
      if (!name) return this.emit({ kind: 'tree', renamed: true });
      const path = rel ? `${rel}/${name}` : name;
      if (!rel && name === '.git') return;
      if (event === 'rename' && wanted(name, rel)) this.rewatch(path);
      this.emit({ kind: 'tree', path, renamed: event === 'rename' });
    });
    let entries: string[] = [];
    try {
      entries = readdirSync(abs);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = rel ? `${rel}/${name}` : name;
      if (wanted(name, rel) && isFolder(join(this.dir, path))) this.watchTree(path);
    }
  }

  /** A name under the work tree appeared or went: a folder there is watched afresh, a folder gone is forgotten. */
  private rewatch(path: string): void {
    const abs = join(this.dir, path);
    for (const [dir, w] of this.watchers) {
      if (dir === abs || dir.startsWith(`${abs}/`)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    if (isFolder(abs)) this.watchTree(path);
  }

  private watchDir(abs: string, listener: (event: string, name: string | null) => void): void {
    if (this.closed || this.watchers.has(abs)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(abs, (event, name) => listener(event, name === null ? null : String(name)));
    } catch {
      return; // gone already, or not there yet
    }
    watcher.on('error', () => {
      // the folder was removed: forget it (a new one of that name is picked up by its parent's watcher)
      watcher.close();
      this.watchers.delete(abs);
    });
    watcher.unref();
    this.watchers.set(abs, watcher);
  }

  private emit(change: RepoChange): void {
    if (!this.closed) this.onChange(change);
  }
}

function wanted(name: string, rel: string): boolean {
  if (!rel && name === '.git') return false;
  return !name.startsWith('.') || (!rel && name === '.gitstate');
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
