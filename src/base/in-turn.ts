/**
 * One at a time per key, within this process: each call runs once the one
 * before it with the same key has settled (whichever way), so callers queue
 * rather than overlap. The repository lock queues a process's writes this way
 * (proper-lockfile is not re-entrant); sync queues a process's transfers.
 */
export function inTurn<T>(chains: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return run;
}
