import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { cliInputSource, type CliInputs } from '../../cli/cli-inputs.js';
import { InputError, UsageError } from '../../shared/errors.js';
import { isRereadable, openSource } from '../../producer/input-chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-cli-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

let fileCount = 0;
function file(content: string): string {
  const path = join(dir, `input-${fileCount++}.txt`);
  writeFileSync(path, content);
  return path;
}

function inputs(overrides: Partial<CliInputs>): CliInputs {
  return { arguments: [], files: [], format: 'lines', ...overrides };
}

async function readItems(source: ReturnType<typeof cliInputSource>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of openSource(source)) items.push(item);
  return items;
}

async function inputErrorFrom(source: ReturnType<typeof cliInputSource>): Promise<InputError> {
  const error = await readItems(source).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('cliInputSource with lines', () => {
  it('makes each argument an item', async () => {
    expect(await readItems(cliInputSource(inputs({ arguments: ['first line', '{"not":"parsed"}'] })))).toEqual([
      'first line',
      '{"not":"parsed"}',
    ]);
  });

  it('makes each line of a file an item', async () => {
    expect(await readItems(cliInputSource(inputs({ files: [file('alpha\nbeta gamma\n')] })))).toEqual(['alpha', 'beta gamma']);
  });

  it('reads a file with CRLF line ends without keeping the \\r', async () => {
    expect(await readItems(cliInputSource(inputs({ files: [file('one\r\ntwo\r\nthree')] })))).toEqual(['one', 'two', 'three']);
  });

  it('skips empty lines, including blank CRLF lines and a missing last newline', async () => {
    expect(await readItems(cliInputSource(inputs({ files: [file('\n\na\n\r\n\nb\r\n\r\nc')] })))).toEqual(['a', 'b', 'c']);
  });

  it('reads arguments first, then files in order', async () => {
    const source = cliInputSource(inputs({ arguments: ['arg'], files: [file('f1\n'), file('f2\n')] }));
    expect(await readItems(source)).toEqual(['arg', 'f1', 'f2']);
  });

  it('keeps non-ASCII text', async () => {
    expect(await readItems(cliInputSource(inputs({ files: [file('straße\n日本語\n😀\n')] })))).toEqual(['straße', '日本語', '😀']);
  });
});

describe('cliInputSource with jsonl', () => {
  it('parses each argument and each line as JSON', async () => {
    const source = cliInputSource(inputs({ format: 'jsonl', arguments: ['{"a":1}', '2'], files: [file('"three"\r\n[4]\n\nnull\n')] }));
    expect(await readItems(source)).toEqual([{ a: 1 }, 2, 'three', [4], null]);
  });

  it('reports an invalid JSON line with an InputError naming its index and where it came from', async () => {
    const path = file('{"ok":1}\n\n{broken\n');
    const error = await inputErrorFrom(cliInputSource(inputs({ format: 'jsonl', arguments: ['1'], files: [path] })));
    expect(error.index).toBe(2);
    expect(error.message).toContain('input item #2');
    expect(error.message).toContain(path);
    expect(error.message).toContain('not valid JSON');
  });

  it('reports an invalid JSON argument as coming from an argument', async () => {
    const error = await inputErrorFrom(cliInputSource(inputs({ format: 'jsonl', arguments: ['{"a":1}', 'nope'] })));
    expect(error.index).toBe(1);
    expect(error.message).toContain('(argument)');
  });
});

describe('cliInputSource sources', () => {
  it('over arguments and files is a function that can be read twice', async () => {
    const source = cliInputSource(inputs({ arguments: ['a'], files: [file('b\nc\n')] }));
    expect(typeof source).toBe('function');
    expect(isRereadable(source)).toBe(true);
    expect(await readItems(source)).toEqual(['a', 'b', 'c']);
    expect(await readItems(source)).toEqual(['a', 'b', 'c']);
  });

  it('over standard input ("-") is a one-shot stream, not a function', () => {
    const source = cliInputSource(inputs({ arguments: ['-'] }));
    expect(typeof source).not.toBe('function');
    expect(isRereadable(source)).toBe(false);
    expect(Symbol.asyncIterator in (source as object)).toBe(true);
  });

  it('reads standard input where "-" stands among the arguments', async () => {
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from(['in1\r\n', '\nin2\n']) as unknown as typeof process.stdin);
    const source = cliInputSource(inputs({ arguments: ['before', '-', 'after'] }));
    expect(await readItems(source)).toEqual(['before', 'in1', 'in2', 'after']);
  });

  it('refuses "-" given twice', () => {
    expect(() => cliInputSource(inputs({ arguments: ['-', '-'] }))).toThrow(UsageError);
  });

  it('refuses a file that does not exist, naming it', () => {
    const missing = join(dir, 'missing.txt');
    expect(() => cliInputSource(inputs({ files: [missing] }))).toThrow(UsageError);
    expect(() => cliInputSource(inputs({ files: [missing] }))).toThrow(`--input-file: ${missing} does not exist`);
  });

  it('refuses no inputs at all, saying how to give them', () => {
    expect(() => cliInputSource(inputs({}))).toThrow(/no inputs: give them as arguments, with --input-file FILE, or "-"/);
  });
});
