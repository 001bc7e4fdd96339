/**
 * isomorphic-git deflates every object it writes (loose objects on commit, every
 * entry of a pack on push) and inflates every object it reads with pako, a
 * pure-JS zlib. For our small objects pako spends most of its time allocating
 * and zeroing its state on each call: a deflate costs ~105 µs against ~18 µs
 * with Node's own zlib, an inflate ~20 µs against ~10 µs, and the garbage costs
 * more. Both produce the same bytes (zlib format, level 6, 32 KB window), so
 * isomorphic-git's pako functions are pointed at Node's zlib once per process —
 * after a check that the two agree on a sample, so a pako that differs is left
 * alone. Errors keep pako's contract: it throws the message as a string, which
 * isomorphic-git turns into its DecompressionError.
 */
import { createRequire } from 'node:module';
import { deflateSync, inflateSync } from 'node:zlib';

interface Pako {
  deflate(data: Uint8Array): Uint8Array;
  inflate(data: Uint8Array): Uint8Array;
}

let done = false;

/** Make isomorphic-git's deflate and inflate native. Returns whether it did. */
export function useNativeZlib(): boolean {
  if (done) return true;
  // The pako isomorphic-git itself resolves, wherever npm placed it.
  const require = createRequire(createRequire(import.meta.url).resolve('isomorphic-git'));
  const pako = require('pako') as Pako;
  const sample = new TextEncoder().encode('blob 24\0gitstate deflate check\n'.repeat(3));
  const deflated = pako.deflate(sample);
  if (Buffer.compare(Buffer.from(deflated), deflateSync(sample)) !== 0) return false;
  if (Buffer.compare(Buffer.from(pako.inflate(deflated)), inflateSync(deflated)) !== 0) return false;
  pako.deflate = (data) => deflateSync(data);
  pako.inflate = (data) => {
    try {
      return inflateSync(data);
    } catch (err) {
      throw (err as Error).message;
    }
  };
  done = true;
  return true;
}
