/**
 * The offer a queued writer hands the lock's holder (core/handoff.ts): made only
 * when JSON carries the write unchanged and nothing in it is a secret; the
 * operations a transaction records; an input error as a record and back.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeOffer, recordOps } from '../../src/core/handoff.js';
import { NotFoundError, RepoError, SchemaError, recordOfRejected, rejectedFromRecord } from '../../src/errors.js';
import { scanFile } from '../../src/security/file-scan.js';
import type { TxOp } from '../../src/core/transaction.js';

const author = { name: 'A', email: 'a@example.org' };
const offerOf = (ops: TxOp[], message = {}) => makeOffer(ops, message, author, scanFile);

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
    expect(offer).toMatchObject({ ops, author, message: { note: 'why' }, timezoneOffset: new Date().getTimezoneOffset() });
    expect(typeof offer!.host).toBe('string');
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
    ['a secret in a flush', { op: 'patch', file: 'state.json', changes: [{ segments: [{ kind: 'key', name: 'api_token' }], value: 'abcd1234efgh5678ijkl', deleted: false }] }],
    ['a value in a list under a sensitive key', { op: 'set', file: 'knowledge', key: 'password[0]', value: 'hunter2xyzSECRET' }],
    ['a value at the end of such a list', { op: 'set', file: 'knowledge', key: 'password[-1]', value: 'hunter2xyzSECRET' }],
    ['a secret as a file name', { op: 'set', file: 'notes/AKIAIOSFODNN7EXAMPLE', key: 'k', value: 1 }],
    ['a secret as a key removed', { op: 'delete', file: 'knowledge', key: 'AKIAIOSFODNN7EXAMPLE' }],
  ] as Array<[string, TxOp]>)('keeps %s in its own process: the ticket is a file', (_name, op) => {
    expect(offerOf([op])).toBeNull();
  });

  it('keeps a write whose path or key path is bad in its own process, which reports it', () => {
    expect(offerOf([{ op: 'set', file: '../outside', key: 'k', value: 1 }])).toBeNull();
    expect(offerOf([{ op: 'set', file: 'knowledge', key: 'a..b', value: 1 }])).toBeNull();
  });
});

describe('recordOps', () => {
  it("records a transaction's operations in order", async () => {
    const ops = await recordOps(async (tx) => {
      await tx.set('knowledge', 'a', 1);
      await tx.append('knowledge', 'log', 'x');
      await tx.delete('notes/old');
      await tx.merge('knowledge', undefined, { b: 2 });
      await tx.write('notes/y', 'y: 1\n');
    });
    expect(ops).toEqual([
      { op: 'set', file: 'knowledge', key: 'a', value: 1 },
      { op: 'append', file: 'knowledge', key: 'log', value: 'x' },
      { op: 'delete', file: 'notes/old' },
      { op: 'merge', file: 'knowledge', value: { b: 2 } },
      { op: 'write', file: 'notes/y', value: 'y: 1\n' },
    ]);
  });

  it('copies each value as it is given: a change the transaction makes to the object afterwards is not recorded', async () => {
    const o = { a: 1 };
    const ops = await recordOps(async (tx) => {
      await tx.set('mut', 'k', o);
      o.a = 2;
      await tx.append('mut', 'list', o);
      o.a = 3;
    });
    expect(ops).toEqual([
      { op: 'set', file: 'mut', key: 'k', value: { a: 1 } },
      { op: 'append', file: 'mut', key: 'list', value: { a: 2 } },
    ]);
  });

  it('records nothing for a transaction that gives a value JSON would change', async () => {
    expect(await recordOps(async (tx) => tx.set('knowledge', 'when', new Date(0)))).toBeNull();
  });

  it('records nothing for a transaction that reads (its writes may depend on what it read), even when it catches the refusal', async () => {
    expect(await recordOps(async (tx) => void (await tx.set('knowledge', 'a', await tx.get('knowledge', 'b'))))).toBeNull();
    expect(
      await recordOps(async (tx) => {
        await tx.readText('knowledge').catch(() => null);
        await tx.set('knowledge', 'a', 1);
      }),
    ).toBeNull();
  });

  it('records nothing for a transaction that throws, or makes no operation', async () => {
    expect(await recordOps(async () => Promise.reject(new Error('no')))).toBeNull();
    expect(await recordOps(async () => undefined)).toBeNull();
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
