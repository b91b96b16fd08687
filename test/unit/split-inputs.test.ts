/**
 * `split` in one process: inputs become the byte ranges of their files, and a run over them
 * gives what a run over the whole files gives. The truth counts lines with split(/\r?\n/).
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { defineJob, fileInputSchema, readInputLines, runLocally, z, type FileInput } from '../../index.js';
import { openSource } from '../../producer/input-chunks.js';
import { splitFileInputs } from '../../producer/split-files.js';
import { countKeys } from '../support/ground-truth.js';
import { seededRandom } from './random-strings.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-split-'));
const KIB = 1024;

/** Counts each distinct line: any line read twice, lost or cut shows in the counts. */
const lineCount = defineJob({
  name: 'line-count',
  input: fileInputSchema,
  async *map(input: FileInput) {
    for await (const line of readInputLines(input, { bufferSize: 1000 })) yield [line, 1] as const;
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 3,
});

/** About `bytes` of lines of random lengths (some far longer than a range), CRLF and LF, no final newline. */
function writeLines(name: string, bytes: number, seed: number): { path: string; content: string } {
  const random = seededRandom(seed);
  const lines: string[] = [];
  for (let length = 0; length < bytes;) {
    const line = `${lines.length} ${'é'.repeat(Math.floor(random() * 30))}${'x'.repeat(random() < 0.01 ? 150 * KIB : Math.floor(random() * 200))}`;
    lines.push(line);
    length += Buffer.byteLength(line) + 1;
  }
  const content = lines.map((line, i) => (i % 3 === 0 ? `${line}\r\n` : `${line}\n`)).join('') + 'last line';
  const path = join(dir, name);
  writeFileSync(path, content);
  return { path, content };
}

async function collect(source: ReturnType<typeof splitFileInputs>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of openSource(source)) items.push(item);
  return items;
}

describe('a run with split', () => {
  it('gives the counts of the unsplit files, every line counted once', async () => {
    const files = [writeLines('a.txt', 900 * KIB, 1), writeLines('b.txt', 300 * KIB, 2)];
    const paths = files.map((file) => file.path);
    const split = await runLocally(lineCount, paths, { split: '64KiB', chunkSize: 1 });
    const whole = await runLocally(lineCount, paths, { chunkSize: 1 });
    const truth = countKeys(files.flatMap(({ content }) => content.split(/\r?\n/)));
    expect(split).toEqual(truth);
    expect(whole).toEqual(truth);
  });

  it('makes one range per split size of each file, with its size and modification time', async () => {
    const { path } = writeLines('c.txt', 200 * KIB, 3);
    const { size, mtimeMs } = statSync(path);
    const ranges = await collect(splitFileInputs([path], 64 * KIB));
    expect(ranges).toHaveLength(Math.ceil(size / (64 * KIB)));
    expect(ranges[1]).toEqual({ path, start: 64 * KIB, end: 128 * KIB, size, mtimeMs });
  });

  it('reads a .gz input whole, in one range, and says so through onWholeFile', async () => {
    const path = join(dir, 'd.log.gz');
    writeFileSync(path, gzipSync('x\n'.repeat(100 * KIB)));
    const whole: string[] = [];
    const ranges = await collect(splitFileInputs([path], 64 * KIB, { onWholeFile: (file) => whole.push(file) }));
    expect(ranges).toEqual([expect.objectContaining({ path, start: 0, end: statSync(path).size })]);
    expect(whole).toEqual([path]);
    expect(await runLocally(lineCount, [path], { split: '64KiB' })).toEqual([{ key: 'x', value: 100 * KIB }]);
  });
});

describe('inputs that cannot be split', () => {
  it.each([
    ['a missing file', join(dir, 'missing.txt'), /input item #0: cannot split .*missing\.txt: ENOENT/],
    ['a folder', dir, /input item #0: cannot split .*: not a regular file/],
    ['a number', 42, /input item #0 42: with split, each input must be the path of a file/],
  ])('fail the submit on %s, naming the item', async (_name, input, message) => {
    await expect(runLocally(lineCount, [input], { split: '64KiB' })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringMatching(message),
    });
  });

  it("say so when the job's schema takes no ranges", async () => {
    const { path } = writeLines('e.txt', 10, 4);
    const pathsOnly = defineJob({ ...lineCount, name: 'paths-only', input: z.string() });
    await expect(runLocally(pathsOnly, [path], { split: '64KiB' })).rejects.toThrow(
      /rejected by the job's schema.*with split, each input is a file range .*input: fileInputSchema/,
    );
  });

  it('refuses a split below the floor before reading anything', async () => {
    await expect(runLocally(lineCount, ['whatever'], { split: 1000 })).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'split' });
  });
});
