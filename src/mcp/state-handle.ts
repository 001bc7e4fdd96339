/**
 * The MCP server's StateManager, opened when first needed and again after a
 * failure: a state.json that is corrupt or off its schema never stops the
 * server. The YAML tools work as ever; the state tools return a tool error that
 * names the file and the fix, and work again once it is fixed (say, by
 * `gitstate state reset` in another shell), without a restart.
 */
import { StateManager, type StateManagerOptions } from '../state/manager.js';
import { currentProjectOnDisk } from '../projects/routing.js';

export class StateHandle {
  private manager: StateManager | null = null;
  private opening: Promise<StateManager> | null = null;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly options: StateManagerOptions = {},
  ) {}

  /** A handle on a manager the caller opened (and closes). */
  static of(manager: StateManager): StateHandle {
    const handle = new StateHandle(manager.repo.dir);
    handle.manager = manager;
    return handle;
  }

  /** The StateManager; throws the reason (StateCorruptError, naming the fix) while state.json cannot be used. */
  async get(): Promise<StateManager> {
    if (this.manager) return this.manager;
    this.opening ??= StateManager.open(this.dir, this.options).finally(() => (this.opening = null));
    const manager = await this.opening;
    if (this.closed) {
      await manager.close();
      throw new Error('the server is stopping');
    }
    this.manager = manager;
    return manager;
  }

  /** current_project as this server sees it: its own unflushed changes included; from disk while the manager is not open. */
  currentProject(): string | null {
    if (!this.manager) return currentProjectOnDisk(this.dir);
    const value = this.manager.get('current_project');
    return typeof value === 'string' && value ? value : null;
  }

  /** Flush and close (pending changes that cannot be committed are written aside; the error says where). */
  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    await this.manager?.close();
  }
}
