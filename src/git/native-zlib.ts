/**
 * isomorphic-git deflates every object it writes (loose objects on commit, every
 * entry of a pack on push) and inflates every object it reads or receives (a
 * streaming Inflate finds where each entry of a fetched pack ends) with pako, a
 * pure-JS zlib. For our small objects pako spends most of its time allocating
 * and zeroing its state on each call: a deflate costs ~105 µs against ~18 µs
 * with Node's own zlib, an inflate ~20 µs against ~10 µs, and the garbage costs
 * more; indexing a fetched pack of 5,000 objects spent ~130 ms in pako's Inflate.
 * So isomorphic-git's pako is pointed at Node's zlib, once per process. Both are
 * zlib: the same format and, at the same settings, the same bytes (the tests
 * compare them with an untouched copy of pako). Errors keep pako's contract:
 * `inflate` throws the message as a string, which isomorphic-git turns into its
 * DecompressionError; `Inflate` sets `err` and `msg`.
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
export class NativeInflate implements StreamingInflate {
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

/** Make isomorphic-git's deflate and inflate native. Returns whether it did (false: a pako of another shape, left alone). */
export function useNativeZlib(): boolean {
  if (done) return true;
  // The pako isomorphic-git itself resolves, wherever npm placed it.
  const require = createRequire(createRequire(import.meta.url).resolve('isomorphic-git'));
  const pako = require('pako') as Partial<Pako>;
  if (typeof pako.deflate !== 'function' || typeof pako.inflate !== 'function' || typeof pako.Inflate !== 'function') return false;
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
