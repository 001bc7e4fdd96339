/**
 * A disk that loses power: it performs the write path's calls for real and
 * records what each made durable — a file's data at its fsync, a folder's
 * entries at its sync — so that, for a cut after any step, the image a machine
 * would find on restart can be rebuilt: every folder as of its last sync (or as
 * it was when recording began), every file's data as of its last fsync (or as it
 * was when recording began; a file made since and never synced comes back empty).
 * After the cut every call fails, as the process would have died there.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { nodeDisk, type Disk } from '../../src/git/disk.js';

export class PowerLost extends Error {
  constructor() {
    super('power lost');
  }
}

interface Entry {
  ino: number;
  dir: boolean;
}

export class PowerCutDisk implements Disk {
  /** Calls made so far that change the disk. */
  steps = 0;
  private cut = false;
  /** Folder -> its entries as of its last sync (or the start). */
  private readonly folders = new Map<string, Map<string, Entry>>();
  /** Inode -> its data as of its last fsync (or the start). */
  private readonly data = new Map<number, Buffer>();

  /** Record `root` as durable as it stands; cut the power at the `cutAfter`-th step (never when omitted). */
  constructor(
    private readonly root: string,
    private readonly cutAfter = Number.POSITIVE_INFINITY,
  ) {
    this.recordTree(root);
  }

  get powerLost(): boolean {
    return this.cut;
  }

  private step(): void {
    if (this.cut) throw new PowerLost();
    if (++this.steps > this.cutAfter) {
      this.cut = true;
      throw new PowerLost();
    }
  }

  openSync(path: string, flags: string | number, mode?: number): number {
    this.step();
    return nodeDisk.openSync(path, flags, mode);
  }
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position?: number | null): number {
    this.step();
    return nodeDisk.writeSync(fd, buffer, offset, length, position);
  }
  closeSync(fd: number): void {
    nodeDisk.closeSync(fd); // even after the cut: the test process must not leak descriptors
  }
  async fsync(fd: number): Promise<void> {
    this.step();
    await nodeDisk.fsync(fd);
    if (this.cut) throw new PowerLost(); // the power went while it was in flight
    this.data.set(fs.fstatSync(fd).ino, readAll(fd));
  }
  async writeNew(path: string, bytes: Uint8Array): Promise<void> {
    this.step();
    const fd = nodeDisk.openSync(path, 'wx', 0o644);
    try {
      this.step();
      nodeDisk.writeSync(fd, bytes, 0, bytes.byteLength);
      await this.fsync(fd);
    } finally {
      nodeDisk.closeSync(fd);
    }
  }
  async syncDir(path: string): Promise<void> {
    this.step();
    await nodeDisk.syncDir(path);
    if (this.cut) throw new PowerLost();
    this.folders.set(path, listing(path));
  }
  renameSync(from: string, to: string): void {
    this.step();
    nodeDisk.renameSync(from, to);
  }
  linkSync(from: string, to: string): void {
    this.step();
    nodeDisk.linkSync(from, to);
  }
  unlinkSync(path: string): void {
    this.step();
    nodeDisk.unlinkSync(path);
  }
  mkdirSync(path: string): void {
    this.step();
    nodeDisk.mkdirSync(path);
  }
  rmdirSync(path: string): void {
    this.step();
    nodeDisk.rmdirSync(path);
  }
  removeSync(path: string): void {
    if (this.cut) return; // clean-up after the cut: the process was dead
    this.step();
    nodeDisk.removeSync(path);
  }

  /** Write the tree a restart would find into `target` (which must not exist). */
  rebuild(target: string): void {
    this.rebuildFolder(this.root, target);
  }

  private rebuildFolder(folder: string, target: string): void {
    fs.mkdirSync(target);
    for (const [name, entry] of this.folders.get(folder) ?? []) {
      const from = join(folder, name);
      if (entry.dir) this.rebuildFolder(from, join(target, name));
      else fs.writeFileSync(join(target, name), this.data.get(entry.ino) ?? Buffer.alloc(0));
    }
  }

  private recordTree(folder: string): void {
    const entries = listing(folder);
    this.folders.set(folder, entries);
    for (const [name, entry] of entries) {
      const path = join(folder, name);
      if (entry.dir) this.recordTree(path);
      else this.data.set(entry.ino, fs.readFileSync(path));
    }
  }
}

function listing(folder: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const name of fs.readdirSync(folder)) {
    const stats = fs.lstatSync(join(folder, name));
    out.set(name, { ino: stats.ino, dir: stats.isDirectory() });
  }
  return out;
}

/** A file's bytes through a descriptor opened write-only (Linux: reopened through /proc). */
function readAll(fd: number): Buffer {
  return fs.readFileSync(`/proc/self/fd/${fd}`);
}
