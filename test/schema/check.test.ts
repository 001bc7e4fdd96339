/**
 * schema/check.ts checks map-only files without zod: it must accept and refuse
 * exactly what the zod schema does, with the same message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSchemas } from '../../src/schema/check.js';
import { validateContent } from '../../src/schema/validate.js';
import { compileUserSchema } from '../../src/schema/compile.js';

async function outcome(run: () => unknown): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

const values = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY), // YAML's .nan and .inf
  fc.anything({ withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true }),
  fc.constant(null),
  fc.constant(undefined),
  fc.dictionary(fc.string(), fc.jsonValue()),
);

describe('the map check without zod', () => {
  for (const path of ['knowledge.yaml', 'shared_context.yaml']) {
    it(`${path}: the same verdict and message as zod, on any value`, async () => {
      await fc.assert(
        fc.asyncProperty(values, async (value) => {
          expect(await outcome(() => checkSchemas(path, value, []))).toBe(await outcome(() => validateContent(path, value)));
        }),
        { numRuns: 500 },
      );
    });
  }

  it('files with a real schema, user schemas and schema files still go through zod', async () => {
    expect(await outcome(() => checkSchemas('current_work.yaml', { active_issues: 'x' }, []))).toMatch(/active_issues: expected array/);
    expect(await outcome(() => checkSchemas('.gitstate/schemas/bad.schema.json', { type: 'object' }, []))).toMatch(/x-gitstate-files/);
    const user = compileUserSchema({ 'x-gitstate-files': ['knowledge.yaml'], type: 'object', properties: { must: { type: 'string' } }, required: ['must'] }, '.gitstate/schemas/k.schema.json');
    expect(await outcome(() => checkSchemas('knowledge.yaml', { a: 1 }, [user]))).toMatch(/must/);
    expect(await outcome(() => checkSchemas('notes/free.yaml', [1, 2], []))).toBe('ok');
  });
});
