/**
 * isomorphic-git deflates every object it writes (loose objects on commit, every
 * entry of a pack on push) and inflates every object it reads or receives (the
 * streaming Inflate that finds where each entry of a fetched pack ends) with
 * pako, a pure-JS zlib. For our small objects pako spends most of its time allocating
 * and zeroing its state on each call: a deflate costs ~105 µs against ~18 µs
 * with Node's own zlib, an inflate ~20 µs against ~10 µs, and the garbage costs
 * more; indexing a fetched pack of 5,000 objects spent ~130 ms in pako's Inflate.
 * Both produce the same bytes (zlib format, level 6, 32 KB window), so
 * isomorphic-git's pako is pointed at Node's zlib once per process — after a
 * check that the two agree on a sample, so a pako that differs is left alone.
 * Errors keep pako's contract: `inflate` throws the message as a string, which
 * isomorphic-git turns into its DecompressionError; `Inflate` sets `err` and `msg`.
 */
import { createRequire } from 'node:module';
import { deflateSync, inflateSync } from 'node:zlib';

interface Pako {
  deflate(data: Uint8Array): Uint8Array;
  inflate(data: Uint8Array): Uint8Array;
  Inflate: new () => StreamingInflate;
}

/** The part of pako's streaming Inflate that isomorphic-git's pack reader (listpack) uses. */
interface StreamingInflate {
  push(chunk: Uint8Array, last: boolean): boolean;
  result: Uint8Array | undefined;
  err: number;
  msg: string;
  strm: { avail_in: number };
}

/** Output grows in steps of this: pack entries are mostly small, and zlib's 16 KB default made ~80 MB of garbage per 5,000. */
const OUTPUT_CHUNK = 1024;

/**
 * pako's Inflate for one zlib stream that may be followed by other data (the next
 * pack entry): `push` input until `result` is set; `strm.avail_in` is then how
 * much of the last chunk pushed lies after the stream's end.
 */
class NativeInflate implements StreamingInflate {
  result: Uint8Array | undefined = undefined;
  err = 0;
  msg = '';
  strm = { avail_in: 0 };
  /** Input pushed so far when it did not hold the whole stream. */
  private pending: Buffer | null = null;

  push(chunk: Uint8Array): boolean {
    const input = this.pending ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      const { buffer, engine } = inflateSync(input, { info: true, chunkSize: OUTPUT_CHUNK }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      this.result = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      this.strm.avail_in = input.length - engine.bytesWritten;
      this.pending = null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') {
        this.pending = Buffer.from(input); // the stream goes on in the next chunk
        return true;
      }
      this.err = -3; // pako's Z_DATA_ERROR
      this.msg = (err as Error).message;
    }
    return this.err === 0;
  }
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
  if (!inflatesLikePako(pako, deflated)) return false;
  pako.deflate = (data) => deflateSync(data);
  pako.inflate = (data) => {
    try {
      return inflateSync(data);
    } catch (err) {
      throw (err as Error).message;
    }
  };
  pako.Inflate = NativeInflate;
  done = true;
  return true;
}

/** pako's Inflate and ours agree on a stream followed by other bytes: same result, same bytes left over. */
function inflatesLikePako(pako: Pako, deflated: Uint8Array): boolean {
  const input = Buffer.concat([deflated, Buffer.from('next entry')]);
  const theirs = new pako.Inflate();
  const ours = new NativeInflate();
  theirs.push(input, false);
  ours.push(input);
  return Boolean(theirs.result && ours.result) && Buffer.compare(Buffer.from(theirs.result!), Buffer.from(ours.result!)) === 0 && theirs.strm.avail_in === ours.strm.avail_in;
}
