import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ParsedArgs } from '../../cli/args.js';
import { outputFileFlag, writeResultsFile, type OutputFile } from '../../cli/output-file.js';
import { UsageError } from '../../shared/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-output-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let folders = 0;
/** A folder of the test's own, so its listing shows any file left behind. */
function folder(): string {
  const path = join(dir, `case-${folders++}`);
  mkdirSync(path);
  return path;
}

function flags(values: ParsedArgs['values']): ParsedArgs {
  return { values, positionals: [] };
}

const entries = [
  { key: 'plain', value: 3 },
  { key: 'with, comma', value: 'say "hi"' },
  { key: 'object', value: { a: [1, 2] } },
  { key: 'ünï', value: true },
];

/** Each item as a block of its own, a turn of the event loop apart. */
async function* slowly<T>(items: readonly T[], onEach?: (index: number) => void): AsyncGenerator<T[]> {
  for (const [index, item] of items.entries()) {
    onEach?.(index);
    await new Promise((resolve) => setImmediate(resolve));
    yield [item];
  }
}

describe('--output FILE', () => {
  it('takes its format from the name, whatever its case', () => {
    expect(outputFileFlag(flags({ output: join(dir, 'out.jsonl') }))).toEqual({ path: join(dir, 'out.jsonl'), format: 'jsonl' });
    expect(outputFileFlag(flags({ output: join(dir, 'OUT.CSV') }))?.format).toBe('csv');
    expect(outputFileFlag(flags({}))).toBeUndefined();
  });

  it('refuses a name with another extension, or none, saying which it takes', () => {
    for (const name of ['out.json', 'out.txt', 'out']) {
      expect(() => outputFileFlag(flags({ output: join(dir, name) }))).toThrow(UsageError);
      expect(() => outputFileFlag(flags({ output: join(dir, name) }))).toThrow(/--output: expected a file name ending in .jsonl or .csv/);
    }
  });

  it('refuses a --format that disagrees, a folder that does not exist, and a folder as the file', () => {
    expect(() => outputFileFlag(flags({ output: join(dir, 'a.csv'), format: 'jsonl' }))).toThrow(/--format jsonl disagrees/);
    expect(outputFileFlag(flags({ output: join(dir, 'a.csv'), format: 'csv' }))?.format).toBe('csv');
    expect(() => outputFileFlag(flags({ output: join(dir, 'missing', 'a.csv') }))).toThrow(/does not exist/);
    mkdirSync(join(dir, 'taken.csv'));
    expect(() => outputFileFlag(flags({ output: join(dir, 'taken.csv') }))).toThrow(/is a folder/);
  });
});

describe('writeResultsFile', () => {
  it('writes JSON Lines and CSV as stdout shows them, and leaves only the file', async () => {
    const where = folder();
    const jsonl: OutputFile = { path: join(where, 'r.jsonl'), format: 'jsonl' };
    const csv: OutputFile = { path: join(where, 'r.csv'), format: 'csv' };
    expect(await writeResultsFile(slowly(entries), jsonl)).toBe(4);
    expect(await writeResultsFile(slowly(entries), csv)).toBe(4);
    expect(readFileSync(jsonl.path, 'utf8')).toBe(
      '{"key":"plain","value":3}\n{"key":"with, comma","value":"say \\"hi\\""}\n{"key":"object","value":{"a":[1,2]}}\n{"key":"ünï","value":true}\n',
    );
    expect(readFileSync(csv.path, 'utf8')).toBe('key,value\nplain,3\n"with, comma","say ""hi"""\nobject,"{""a"":[1,2]}"\nünï,true\n');
    expect(readdirSync(where).sort()).toEqual(['r.csv', 'r.jsonl']);
  });

  it('writes nothing and leaves no temporary file when its signal aborts midway; a file already there is kept', async () => {
    const where = folder();
    const file: OutputFile = { path: join(where, 'r.jsonl'), format: 'jsonl' };
    writeFileSync(file.path, 'earlier\n');
    const stop = new AbortController();
    const outcome = await writeResultsFile(
      slowly(entries, (index) => index === 2 && stop.abort()),
      file,
      stop.signal,
    );
    expect(outcome).toBe('interrupted');
    expect(readdirSync(where)).toEqual(['r.jsonl']);
    expect(readFileSync(file.path, 'utf8')).toBe('earlier\n');
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops on ${signal} while writing: no file, no temporary file, and its listener gone`, async () => {
      const where = folder();
      const before = process.listenerCount(signal);
      const outcome = await writeResultsFile(
        slowly(entries, (index) => index === 1 && process.emit(signal, signal)),
        { path: join(where, 'r.csv'), format: 'csv' },
      );
      expect(outcome).toBe('interrupted');
      expect(readdirSync(where)).toEqual([]);
      expect(process.listenerCount(signal)).toBe(before);
    });
  }

  it('removes the temporary file and throws when reading the results fails', async () => {
    const where = folder();
    async function* failing(): AsyncGenerator<Array<{ key: string; value: unknown }>> {
      yield [{ key: 'a', value: 1 }];
      throw new Error('Redis went away');
    }
    await expect(writeResultsFile(failing(), { path: join(where, 'r.jsonl'), format: 'jsonl' })).rejects.toThrow('Redis went away');
    expect(readdirSync(where)).toEqual([]);
  });
});
