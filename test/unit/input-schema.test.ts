import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describe, expect, it } from 'vitest';
import { z } from '../../index.js';
import { InputError } from '../../shared/errors.js';
import { validateInputItem } from '../../shared/job/input-schema.js';

async function inputErrorFrom(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('validateInputItem', () => {
  it('returns the item when the schema accepts it', async () => {
    await expect(validateInputItem('job', z.object({ url: z.string() }), { url: 'https://x' }, 0)).resolves.toEqual({ url: 'https://x' });
  });

  it("returns the schema's transformed value, not the raw item", async () => {
    const schema = z.string().transform((text) => text.toUpperCase());
    await expect(validateInputItem('job', schema, 'abc', 0)).resolves.toBe('ABC');
    const withDefault = z.object({ n: z.number().default(5) });
    await expect(validateInputItem('job', withDefault, {}, 0)).resolves.toEqual({ n: 5 });
  });

  it('works with an async schema', async () => {
    const schema = z.string().refine(async (text) => text.length > 1, 'too short');
    await expect(validateInputItem('job', schema, 'ok', 0)).resolves.toBe('ok');
    expect((await inputErrorFrom(validateInputItem('job', schema, 'x', 4))).message).toContain('too short');
  });

  it('names the job, the index and the item when the schema rejects it', async () => {
    const error = await inputErrorFrom(validateInputItem('fetch-pages', z.object({ url: z.string().url() }), { url: 'nope' }, 7));
    expect(error.index).toBe(7);
    expect(error.code).toBe('INPUT_INVALID');
    expect(error.message).toContain('job "fetch-pages"');
    expect(error.message).toContain('#7');
    expect(error.message).toContain('{"url":"nope"}');
    expect(error.message).toContain("rejected by the job's schema");
  });

  it('names the path of the field the schema rejects', async () => {
    const error = await inputErrorFrom(
      validateInputItem('job', z.object({ user: z.object({ age: z.number() }) }), { user: { age: 'x' } }, 0),
    );
    expect(error.message).toMatch(/user\.age: /);
  });

  it('works with any Standard Schema, not only zod', async () => {
    const evenNumber: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) =>
          typeof value === 'number' && value % 2 === 0
            ? { value: value * 10 }
            : { issues: [{ message: 'expected an even number', path: [{ key: 'n' }] }] },
      },
    };
    await expect(validateInputItem('job', evenNumber, 4, 0)).resolves.toBe(40);
    const error = await inputErrorFrom(validateInputItem('job', evenNumber, 3, 2));
    expect(error.message).toContain('n: expected an even number');
    expect(error.index).toBe(2);
  });

  it.each([
    ['undefined', undefined, 'item is undefined'],
    ['NaN', NaN, 'item is NaN'],
    ['a Date', new Date(0), 'item is a Date'],
    ['a nested BigInt', { a: [1n] }, 'item.a[0] is a BigInt'],
    ['a Map', new Map(), 'item is a Map'],
  ])('rejects %s, which cannot be sent to workers, before the schema sees it', async (_, item, problem) => {
    let schemaCalled = false;
    const anything: StandardSchemaV1<unknown, unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) => {
          schemaCalled = true;
          return { value };
        },
      },
    };
    const error = await inputErrorFrom(validateInputItem('job', anything, item, 3));
    expect(error.index).toBe(3);
    expect(error.message).toContain('input item #3 cannot be sent to workers');
    expect(error.message).toContain(problem);
    expect(schemaCalled).toBe(false);
  });

  it('shortens a long item in the message', async () => {
    const error = await inputErrorFrom(validateInputItem('job', z.number(), 'x'.repeat(10_000), 0));
    expect(error.message.length).toBeLessThan(500);
  });
});
