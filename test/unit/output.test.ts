import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeResults } from '../../cli/output.js';
import type { ResultEntry } from '../../reducer/read-results.js';

/** The entries in blocks of three, as the writers take them (the last one shorter). */
async function* entries(list: ResultEntry[]): AsyncGenerator<ResultEntry[]> {
  for (let i = 0; i < list.length; i += 3) yield list.slice(i, i + 3);
}

/** Writes to a PassThrough and returns what came out. */
async function render(list: ResultEntry[], format: 'jsonl' | 'csv' | 'table'): Promise<{ text: string; count: number }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const count = await writeResults(entries(list), format, out);
  out.end();
  await new Promise((resolve) => out.on('end', resolve));
  return { text: Buffer.concat(chunks).toString('utf8'), count };
}

/** A Writable with a tiny buffer that finishes each write later, recording how much was ever queued in it. */
function slowSink(): { sink: Writable; text: () => string; mostQueued: () => number; writes: () => number } {
  const written: string[] = [];
  let mostQueued = 0;
  const sink: Writable = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      mostQueued = Math.max(mostQueued, sink.writableLength);
      setImmediate(() => {
        written.push(chunk.toString('utf8'));
        callback();
      });
    },
  });
  return { sink, text: () => written.join(''), mostQueued: () => mostQueued, writes: () => written.length };
}

const sample: ResultEntry[] = [
  { key: 'apple', value: 3 },
  { key: 'b,c', value: 'text with "quotes"' },
  { key: 'multi\nline', value: { nested: [1, 'two'] } },
  { key: 'flag', value: true },
  { key: 'nothing', value: null },
  { key: 'list', value: [1, 2] },
  { key: 'é😀', value: 'ünï' },
];

describe('writeResults as jsonl', () => {
  it('writes one {"key","value"} JSON object per line and returns the count', async () => {
    const { text, count } = await render(sample, 'jsonl');
    expect(count).toBe(sample.length);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(sample.length);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(sample);
    expect(lines[0]).toBe('{"key":"apple","value":3}');
  });

  it('writes nothing for no results', async () => {
    expect(await render([], 'jsonl')).toEqual({ text: '', count: 0 });
  });
});

describe('writeResults as csv', () => {
  it('writes a key,value header then one row per result', async () => {
    const { text, count } = await render(
      [
        { key: 'a', value: 1 },
        { key: 'b', value: 'x' },
      ],
      'csv',
    );
    expect(text).toBe('key,value\na,1\nb,x\n');
    expect(count).toBe(2);
  });

  it('quotes fields holding commas, quotes or line breaks, doubling the quotes', async () => {
    const { text } = await render(
      [
        { key: 'b,c', value: 'say "hi"' },
        { key: 'line\nbreak', value: 'cr\rhere' },
      ],
      'csv',
    );
    expect(text).toBe('key,value\n"b,c","say ""hi"""\n"line\nbreak","cr\rhere"\n');
  });

  it('writes numbers and booleans as they are and other values as JSON', async () => {
    const { text } = await render(
      [
        { key: 'n', value: -1.5 },
        { key: 't', value: false },
        { key: 'z', value: null },
        { key: 'o', value: { a: [1, 'x'] } },
        { key: 'l', value: [1, 2] },
        { key: 's', value: '' },
      ],
      'csv',
    );
    expect(text.split('\n')).toEqual(['key,value', 'n,-1.5', 't,false', 'z,null', 'o,"{""a"":[1,""x""]}"', 'l,"[1,2]"', 's,', '']);
  });

  it('writes only the header for no results', async () => {
    expect(await render([], 'csv')).toEqual({ text: 'key,value\n', count: 0 });
  });
});

describe('writeResults as a table', () => {
  it('lines up the values after the longest key', async () => {
    const { text, count } = await render(
      [
        { key: 'a', value: 1 },
        { key: 'longer-key', value: 'text' },
        { key: 'o', value: { x: 1 } },
      ],
      'table',
    );
    expect(count).toBe(3);
    expect(text).toBe(['KEY         VALUE', 'a           1', 'longer-key  text', 'o           {"x":1}', ''].join('\n'));
  });

  it('keeps the key column at least 3 wide and at most 60', async () => {
    expect((await render([{ key: 'k', value: 1 }], 'table')).text).toBe('KEY  VALUE\nk    1\n');
    const wide = await render(
      [
        { key: 'x'.repeat(100), value: 1 },
        { key: 'y', value: 2 },
      ],
      'table',
    );
    expect(wide.text.split('\n')[2]).toBe(`${'y'.padEnd(60)}  2`);
  });

  it('writes every row of a result longer than the rows used for sizing', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ key: `k${i}`, value: i }));
    const { text, count } = await render(many, 'table');
    expect(count).toBe(2500);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2501);
    expect(lines.at(-1)).toMatch(/^k2499\s+2499$/);
  });

  it('writes only the header for no results', async () => {
    expect(await render([], 'table')).toEqual({ text: 'KEY  VALUE\n', count: 0 });
  });
});

describe('writeResults backpressure', () => {
  it.each(['jsonl', 'csv', 'table'] as const)('waits for a slow %s consumer instead of piling up writes', async (format) => {
    const { sink, text, mostQueued, writes } = slowSink();
    const list = Array.from({ length: 20_000 }, (_, i) => ({ key: `key-${i}`, value: i }));
    const count = await writeResults(entries(list), format, sink);
    await new Promise<void>((resolve) => sink.end(resolve));
    expect(count).toBe(20_000);
    // Lines go out in blocks of about 64 KiB, and each block waits for 'drain': at most one
    // block is ever queued. Ignoring backpressure would queue the whole result (~400 KB).
    expect(writes()).toBeGreaterThan(4);
    expect(mostQueued()).toBeLessThanOrEqual(70_000);
    expect(text()).toBe((await render(list, format)).text);
  });

  it('rejects when the output fails while it waits', async () => {
    const failing = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        setImmediate(() => callback(new Error('EPIPE')));
      },
    });
    failing.on('error', () => {});
    await expect(writeResults(entries(sample), 'jsonl', failing)).rejects.toThrow('EPIPE');
  });
});
