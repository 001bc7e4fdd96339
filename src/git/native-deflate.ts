/**
 * isomorphic-git deflates every object it writes (loose objects on commit, every
 * entry of a pack on push) with pako, a pure-JS zlib. For our small objects pako
 * spends most of its time allocating and zeroing its 200 KB of state per call:
 * ~105 µs against ~18 µs for Node's own zlib, and the garbage it leaves costs
 * more. Both produce the same bytes (zlib format, level 6, 32 KB window), so
 * isomorphic-git's pako is pointed at Node's zlib once per process — after a
 * check that the two agree on a sample, so a pako that differs is left alone.
 */
import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';

interface Pako {
  deflate(data: Uint8Array): Uint8Array;
}

let done = false;

/** Make isomorphic-git's deflate native. Returns whether it did. */
export function useNativeDeflate(): boolean {
  if (done) return true;
  // The pako isomorphic-git itself resolves, wherever npm placed it.
  const require = createRequire(createRequire(import.meta.url).resolve('isomorphic-git'));
  const pako = require('pako') as Pako;
  const original = pako.deflate.bind(pako);
  const sample = new TextEncoder().encode('blob 24\0gitstate deflate check\n'.repeat(3));
  if (Buffer.compare(Buffer.from(original(sample)), deflateSync(sample)) !== 0) return false;
  pako.deflate = (data) => deflateSync(data);
  done = true;
  return true;
}
