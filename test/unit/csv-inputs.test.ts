import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliInputSource } from '../../cli/cli-inputs.js';
import { startLine } from '../../cli/csv-inputs.js';
import { withInputLocation } from '../../cli/input-locations.js';
import { InputError, UsageError } from '../../shared/errors.js';
import { openSource, type InputSource } from '../../producer/input-chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-csv-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function file(content: string): string {
  const path = join(dir, `rows-${fileCount++}.csv`);
  writeFileSync(path, content);
  return path;
}

function csvSource(...files: string[]): InputSource {
  return cliInputSource({ arguments: [], files, format: 'csv' });
}

async function readItems(source: InputSource): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of openSource(source)) items.push(item);
  return items;
}

async function failureOf(source: InputSource): Promise<InputError> {
  const error: unknown = await readItems(source).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('--input-format csv', () => {
  it('makes each row an object keyed by the header, quoted commas, quotes and line breaks kept', async () => {
    const path = file('\uFEFFname,note\r\nann,"a, b"\r\n\r\n"bob","say ""hi"""\r\n"multi\nline",x\r\n');
    expect(await readItems(csvSource(path))).toEqual([
      { name: 'ann', note: 'a, b' },
      { name: 'bob', note: 'say "hi"' },
      { name: 'multi\nline', note: 'x' },
    ]);
  });

  it('reads each file with its own header, indices running on across files', async () => {
    const source = csvSource(file('a,b\n1,2\n'), file('b,a\n3,4\n'));
    expect(await readItems(source)).toEqual([
      { a: '1', b: '2' },
      { b: '3', a: '4' },
    ]);
  });

  it('reports a row with a wrong number of fields as an InputError with its line and index', async () => {
    // Rows read in the same chunk as the bad one count too (a stream's iterator drops them on error).
    const path = file('a,b\n1,2\n\n3,4\n5,6\n7,8,9\n10,11\n');
    const error = await failureOf(csvSource(file('a\nfirst\n'), path));
    expect(error.index).toBe(4);
    expect(error.message).toContain(`input item #4 (line 6 of ${path}) is not a valid CSV row`);
    expect(error.message).toMatch(/Invalid Record Length/);
  });

  it('reports a quote never closed with the line it opens on', async () => {
    const path = file('a,b\n1,2\n"3,4\n5,6\n');
    const error = await failureOf(csvSource(path));
    expect(error.message).toContain(`(line 3 of ${path})`);
    expect(error.message).toMatch(/Quote Not Closed/);
  });

  it('refuses arguments other than "-": rows come from files or standard input', () => {
    expect(() => cliInputSource({ arguments: ['a,b'], files: [], format: 'csv' })).toThrow(UsageError);
  });
});

describe('where an input item came from', () => {
  it("adds the line of a rejected row to the producer's InputError, after the source was read", async () => {
    const path = file('a\nx\n\n"two\nlines"\ny\n');
    const source = csvSource(path);
    expect(await readItems(source)).toHaveLength(3);
    const rejected = new InputError(1, 'job "j": input item #1 is rejected by the job\'s schema: no');
    const located = withInputLocation(rejected, source) as InputError;
    expect(located.message).toBe(`job "j": input item #1 is rejected by the job's schema: no (line 4 of ${path})`);
    expect(located.index).toBe(1);
    expect(located.cause).toBe(rejected);
  });

  it('names the line of items in lines and jsonl files too, but nothing for an argument', async () => {
    const path = file('1\n\n2\n');
    const source = cliInputSource({ arguments: ['0'], files: [path], format: 'jsonl' });
    await readItems(source);
    expect((withInputLocation(new InputError(2, 'bad'), source) as Error).message).toBe(`bad (line 3 of ${path})`);
    expect((withInputLocation(new InputError(0, 'bad'), source) as Error).message).toBe('bad');
    expect((withInputLocation(new InputError(7, 'bad'), source) as Error).message).toBe('bad');
  });

  it('leaves other errors as they are', () => {
    const other = new Error('boom');
    expect(withInputLocation(other, csvSource(file('a\n1\n')))).toBe(other);
  });
});

describe('startLine', () => {
  it('is the end line less the line breaks inside the row, blank lines before it not counted', () => {
    expect(startLine(2, '1,2\n')).toBe(2);
    expect(startLine(4, '"x\ny",3\n')).toBe(3);
    expect(startLine(6, '\n4,5\n')).toBe(6);
    expect(startLine(7, '\r\n"a\r\nb\r\nc",1\r\n')).toBe(5);
    expect(startLine(3, 'last,row')).toBe(3);
  });
});
