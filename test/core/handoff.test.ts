/**
 * The offer a queued writer hands the lock's holder (core/handoff.ts): made only
 * when JSON carries the write unchanged and nothing in it is a secret; read
 * back only in its own format; an input error as a record and back. And the
 * parses a write starts from (transaction.ts ParsedFiles).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOffer, makeOffer, OFFER_VERSION } from '../../src/core/handoff.js';
import { ParsedFiles } from '../../src/core/transaction.js';
import { parseStateText } from '../../src/yaml/document.js';
import { NotFoundError, RepoError, SchemaError, recordOfRejected, rejectedFromRecord } from '../../src/errors.js';
import { scanFile } from '../../src/security/file-scan.js';
import type { TxOp } from '../../src/core/transaction.js';

const author = { name: 'A', email: 'a@example.org' };
const offerOf = (ops: TxOp[], message = {}) => makeOffer({ ops, single: true }, message, author, scanFile);

describe('makeOffer', () => {
  it('any value it offers reads back from JSON exactly as given (property)', () => {
    const anything = fc.anything({ withDate: true, withMap: true, withSet: true, withNullPrototype: true, withBigInt: true, withSparseArray: true, withBoxedValues: true, withTypedArray: true });
    fc.assert(
      fc.property(anything, (value) => {
        const offer = offerOf([{ op: 'set', file: 'knowledge', key: 'k', value }]);
        if (offer) expect(isDeepStrictEqual(JSON.parse(JSON.stringify(offer.ops)), offer.ops)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('offers plain data, with the writer, its host and its time zone', () => {
    const ops: TxOp[] = [
      { op: 'set', file: 'knowledge', key: 'a.b', value: { list: [1, 'two', null, true], n: 1.5 } },
      { op: 'delete', file: 'notes/x', key: 'old' },
      { op: 'write', file: 'notes/y', value: 'y: 1\n' },
    ];
    const offer = offerOf(ops, { note: 'why' });
    expect(offer).toMatchObject({ v: OFFER_VERSION, ops, single: true, author, message: { note: 'why' }, timezoneOffset: new Date().getTimezoneOffset() });
    expect(typeof offer!.host).toBe('string');
    // what a holder reads back from the ticket is an offer it takes
    expect(isOffer(JSON.parse(JSON.stringify(offer)))).toBe(true);
  });

  it.each([
    ['another format', { v: 2 }],
    ['an operation it does not know', { ops: [{ op: 'frobnicate', file: 'knowledge' }] }],
    ['a set without a key', { ops: [{ op: 'set', file: 'knowledge', value: 1 }] }],
    ['a write of no text', { ops: [{ op: 'write', file: 'notes/x', value: 1 }] }],
    ['no author', { author: null }],
    ['no time zone', { timezoneOffset: 'UTC' }],
  ])('a holder does not take %s', (_name, change) => {
    const good = offerOf([{ op: 'set', file: 'knowledge', key: 'k', value: 1 }])!;
    expect(isOffer({ ...good, ...change })).toBe(false);
  });

  it.each([
    ['a Date', new Date(0)],
    ['-0', -0],
    ['a Map', new Map([['a', 1]])],
    ['a class instance', new (class Point { x = 1 })()],
    ['an object without prototype', Object.assign(Object.create(null) as object, { a: 1 })],
    ['a sparse list', [1, , 3]],
    ['undefined inside a map', { a: undefined }],
  ])('keeps %s in its own process', (_name, value) => {
    expect(offerOf([{ op: 'set', file: 'knowledge', key: 'k', value }])).toBeNull();
  });

  it.each([
    ['a secret value', { op: 'set', file: 'knowledge', key: 'aws', value: 'AKIAIOSFODNN7EXAMPLE' }],
    ['a value under a sensitive key', { op: 'set', file: 'knowledge', key: 'db.password', value: 'hunter2hunter2' }],
    ['a secret in a written text', { op: 'write', file: 'notes/x', value: 'key: AKIAIOSFODNN7EXAMPLE\n' }],
    ['a secret in a flush', { op: 'patch', file: 'state.json', changes: [{ segments: [{ kind: 'key', name: 'api_token' }], value: 'abcd1234efgh5678ijkl', deleted: false }], mine: {} }],
    ['a secret in the note', { op: 'set', file: 'knowledge', key: 'k', value: 1 }, 'rotate aws_secret_access_key="wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYAB"'],
    ['a value in a list under a sensitive key', { op: 'set', file: 'knowledge', key: 'password[0]', value: 'hunter2xyzSECRET' }],
    ['a value at the end of such a list', { op: 'set', file: 'knowledge', key: 'password[-1]', value: 'hunter2xyzSECRET' }],
    ['a secret as a file name', { op: 'set', file: 'notes/AKIAIOSFODNN7EXAMPLE', key: 'k', value: 1 }],
    ['a secret as a key removed', { op: 'delete', file: 'knowledge', key: 'AKIAIOSFODNN7EXAMPLE' }],
  ] as Array<[string, TxOp, string?]>)('keeps %s in its own process: the ticket is a file', (_name, op, note) => {
    expect(offerOf([op], note === undefined ? {} : { note })).toBeNull();
  });

  it('keeps a write whose path or key path is bad in its own process, which reports it', () => {
    expect(offerOf([{ op: 'set', file: '../outside', key: 'k', value: 1 }])).toBeNull();
    expect(offerOf([{ op: 'set', file: 'knowledge', key: 'a..b', value: 1 }])).toBeNull();
  });
});

describe('ParsedFiles', () => {
  const doc = (text: string) => parseStateText(text, 'knowledge.yaml');

  it('gives a parse out once, for the very bytes it was read from', () => {
    const files = new ParsedFiles();
    const parsed = doc('a: 1\n');
    files.put('knowledge.yaml', Buffer.from('a: 1\n'), parsed);
    expect(files.take('knowledge.yaml', Buffer.from('a: 2\n'))).toBeUndefined();
    expect(files.take('knowledge.yaml', Buffer.from('a: 1\n'))).toBe(parsed);
    expect(files.take('knowledge.yaml', Buffer.from('a: 1\n'))).toBeUndefined();
  });

  it('keeps texts of at most its size in all, the oldest going first, and never one over half of it', () => {
    const files = new ParsedFiles(100);
    const text = (c: string) => Buffer.from(`k: ${c.repeat(36)}\n`); // 40 bytes
    for (const name of ['a', 'b', 'c']) files.put(`${name}.yaml`, text(name), doc(text(name).toString()));
    expect(files.take('a.yaml', text('a'))).toBeUndefined();
    expect(files.take('b.yaml', text('b'))).toBeDefined();
    expect(files.take('c.yaml', text('c'))).toBeDefined();
    const big = Buffer.from(`k: ${'x'.repeat(60)}\n`);
    files.put('big.yaml', big, doc(big.toString()));
    expect(files.take('big.yaml', big)).toBeUndefined();
  });
});

describe('input errors as records', () => {
  it('an input error comes back as the same class, code, message and data', () => {
    const err = new NotFoundError('knowledge.yaml: no value at missing', { file: 'knowledge.yaml' });
    const back = rejectedFromRecord(JSON.parse(JSON.stringify(recordOfRejected(err))));
    expect(back).toBeInstanceOf(NotFoundError);
    expect(back).toMatchObject({ code: 'NOT_FOUND', exitCode: 3, message: err.message, data: err.data });
    expect(rejectedFromRecord(recordOfRejected(new SchemaError('bad'))!)).toBeInstanceOf(SchemaError);
  });

  it('any other failure has no record (the write is handed back), and an unknown record makes no error', () => {
    expect(recordOfRejected(new RepoError('disk full'))).toBeNull();
    expect(recordOfRejected(new Error('boom'))).toBeNull();
    expect(rejectedFromRecord({ code: 'REPO', message: 'x', data: {} })).toBeNull();
    expect(rejectedFromRecord({ code: 'constructor', message: 'x', data: {} })).toBeNull();
  });
});
