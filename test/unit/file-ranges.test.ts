/**
 * Reading a file as byte ranges: the lines of all ranges, in order, are the file's lines,
 * whatever the split size, and the ranges' bytes are the file's bytes. The truth is the
 * file's text split on `\n` and `\r\n` in two plain lines, never the code under test.
 */
import { mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fileRanges, type FileRange } from '../../shared/files/file-range.js';
import { readInputBytes, readInputLines } from '../../shared/files/read-input.js';
import { seededRandom } from './random-strings.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-ranges-'));
let files = 0;

function writeFile(content: string | Buffer, name = `f${files++}.txt`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function rangesOf(path: string, splitBytes: number): FileRange[] {
  const stats = statSync(path);
  return [...fileRanges(path, stats.size, stats.mtimeMs, splitBytes)];
}

function expectedLines(content: string): string[] {
  const lines = content === '' ? [] : content.split(/\r?\n/);
  return content.endsWith('\n') ? lines.slice(0, -1) : lines;
}

async function linesOfRanges(ranges: FileRange[], bufferSize?: number): Promise<string[]> {
  const lines: string[] = [];
  for (const range of ranges) for await (const line of readInputLines(range, { bufferSize })) lines.push(line);
  return lines;
}

async function bytesOfRanges(ranges: FileRange[], bufferSize?: number): Promise<Buffer> {
  const blocks: Buffer[] = [];
  for (const range of ranges) for await (const block of readInputBytes(range, { bufferSize })) blocks.push(Buffer.from(block));
  return Buffer.concat(blocks);
}

/** Pieces that make the hard cases likely: multi-byte characters, CR, CRLF, empty and long lines. */
const PIECES = ['a', 'b', 'word ', 'é', '€', '😀', '\n', '\n', '\r\n', '\r', '\n\n', 'x'.repeat(40)];

function randomContent(random: () => number): string {
  const length = Math.floor(random() * 60);
  let content = '';
  for (let i = 0; i < length; i++) content += PIECES[Math.floor(random() * PIECES.length)];
  return content;
}

describe('reading a file as byte ranges', () => {
  it('gives every line once, whole and in order, for random files and split sizes', async () => {
    const random = seededRandom(20261127);
    for (let round = 0; round < 400; round++) {
      const content = randomContent(random);
      const path = writeFile(content);
      const size = Buffer.byteLength(content);
      const splitBytes = 1 + Math.floor(random() * (size + 3));
      const bufferSize = 1 + Math.floor(random() * 16);
      const ranges = rangesOf(path, splitBytes);
      const context = `round ${round}: split ${splitBytes}, buffer ${bufferSize}, content ${JSON.stringify(content)}`;
      expect(await linesOfRanges(ranges, bufferSize), context).toEqual(expectedLines(content));
      expect((await bytesOfRanges(ranges, bufferSize)).toString(), context).toBe(content);
    }
  });

  it.each([
    ['a line that straddles a boundary', 'hello\nworld\nagain\n', 8],
    ['a boundary right after a newline', 'abc\ndef\nghi\n', 4],
    ['a boundary between CR and LF', 'abc\r\ndef\r\nghi\r\n', 4],
    ['no final newline', 'one\ntwo\nthree', 5],
    ['a multi-byte character across a boundary', 'a€b\n😀😀\nééé\n', 3],
    ['a line longer than the split', `short\n${'y'.repeat(100)}\nend\n`, 7],
    ['empty lines', '\n\n\n', 1],
    ['a lone CR is part of its line', 'a\rb\nc\r', 2],
  ])('%s', async (_name, content, splitBytes) => {
    const path = writeFile(content);
    expect(await linesOfRanges(rangesOf(path, splitBytes))).toEqual(expectedLines(content));
  });

  it('gives an empty file one range with no lines', async () => {
    const ranges = rangesOf(writeFile(''), 64);
    expect(ranges).toEqual([expect.objectContaining({ start: 0, end: 0, size: 0 })]);
    expect(await linesOfRanges(ranges)).toEqual([]);
  });

  it('makes contiguous ranges of the split size that cover the file', () => {
    const ranges = [...fileRanges('f', 10, 1, 4)];
    expect(ranges.map((range) => [range.start, range.end])).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
  });

  it('reads a plain path whole, as lines and as bytes', async () => {
    const content = 'first\r\nsecond\nthird';
    const path = writeFile(content);
    const lines: string[] = [];
    for await (const line of readInputLines(path, { bufferSize: 3 })) lines.push(line);
    expect(lines).toEqual(['first', 'second', 'third']);
    const blocks: Buffer[] = [];
    for await (const block of readInputBytes(path, { bufferSize: 3 })) blocks.push(Buffer.from(block));
    expect(Buffer.concat(blocks).toString()).toBe(content);
  });
});

describe('a file changed after submit', () => {
  it('fails a range with INPUT_CHANGED when its size differs', async () => {
    const path = writeFile('one\ntwo\n');
    const [range] = rangesOf(path, 1024);
    writeFileSync(path, 'one\ntwo\nthree\n');
    await expect(linesOfRanges([range!])).rejects.toMatchObject({ code: 'INPUT_CHANGED', path });
  });

  it('fails a range with INPUT_CHANGED when only its modification time differs', async () => {
    const path = writeFile('one\ntwo\n');
    const [range] = rangesOf(path, 1024);
    utimesSync(path, new Date(), new Date(range!.mtimeMs + 5000));
    await expect(linesOfRanges([range!])).rejects.toThrow(/changed after the run was submitted.*submit the run again/);
  });
});

describe('a .gz input', () => {
  const content = 'alpha\r\nbeta\n€uro\nlast';

  it('is decompressed on the fly, as a path or as its one whole range', async () => {
    const path = writeFile(gzipSync(content), `f${files++}.log.gz`);
    const lines: string[] = [];
    for await (const line of readInputLines(path, { bufferSize: 4 })) lines.push(line);
    expect(lines).toEqual(expectedLines(content));
    const whole = rangesOf(path, statSync(path).size);
    expect(await linesOfRanges(whole, 4)).toEqual(expectedLines(content));
  });

  it('refuses a range that is not the whole file', async () => {
    const path = writeFile(gzipSync(content.repeat(50)), `f${files++}.gz`);
    const ranges = rangesOf(path, 16);
    await expect(linesOfRanges([ranges[1]!])).rejects.toMatchObject({ code: 'NON_RETRYABLE' });
  });

  it('reads a file of several gzip members, as gzip itself does', async () => {
    const path = writeFile(Buffer.concat([gzipSync('one\ntw'), gzipSync('o\nthree\n')]), `f${files++}.gz`);
    const lines: string[] = [];
    for await (const line of readInputLines(path)) lines.push(line);
    expect(lines).toEqual(['one', 'two', 'three']);
  });
});
