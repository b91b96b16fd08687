/**
 * Results on stdout: JSON Lines `{"key":…,"value":…}` by default, `csv` (key,value, with
 * non-scalar values JSON-encoded) or `table` for people. Written with backpressure, so a
 * huge result streams through a pipe without piling up in memory, and in blocks of lines:
 * stdout on a pipe or file is synchronous, and a system call per line made writing 22,000
 * results take 150 ms.
 */
import type { Writable } from 'node:stream';
import type { ResultEntry } from '../reducer/read-results.js';

export const OUTPUT_FORMATS = ['jsonl', 'csv', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Results in key order, in blocks (reducer/read-results.ts says why). */
export type ResultBlocks = AsyncIterable<readonly ResultEntry[]>;

export async function writeResults(results: ResultBlocks, format: OutputFormat, out: Writable = process.stdout): Promise<number> {
  const lines = new LineBlocks(out);
  const count = format === 'table' ? await writeTable(results, lines) : await writeLines(results, format, lines);
  await lines.flush();
  return count;
}

async function writeLines(results: ResultBlocks, format: 'jsonl' | 'csv', lines: LineBlocks): Promise<number> {
  let count = 0;
  if (format === 'csv') await lines.add('key,value\n');
  for await (const block of results) {
    for (const entry of block) {
      if (lines.closed) return count;
      await lines.add(format === 'csv' ? `${csvField(entry.key)},${csvField(csvValue(entry.value))}\n` : `${JSON.stringify(entry)}\n`);
      count++;
    }
  }
  return count;
}

/** Lines gathered into writes of about 64 KiB. */
class LineBlocks {
  private pending = '';

  constructor(private readonly out: Writable) {}

  /** True once the reader has gone: nothing more will be written. */
  get closed(): boolean {
    return readerLeft(this.out);
  }

  add(line: string): Promise<void> | undefined {
    this.pending += line;
    return this.pending.length >= 65_536 ? this.flush() : undefined;
  }

  flush(): Promise<void> {
    const block = this.pending;
    this.pending = '';
    return block === '' ? Promise.resolve() : write(this.out, block);
  }
}

function csvValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A two-column table; columns are sized on the first rows, so it still streams. */
async function writeTable(results: ResultBlocks, lines: LineBlocks): Promise<number> {
  const SIZING_ROWS = 1000;
  const head: ResultEntry[] = [];
  const iterator = results[Symbol.asyncIterator]();
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    head.push(...next.value);
    if (head.length >= SIZING_ROWS) break;
  }
  const show = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
  const width = Math.min(60, Math.max(3, ...head.slice(0, SIZING_ROWS).map((entry) => entry.key.length)));
  const row = (entry: ResultEntry): string => `${entry.key.padEnd(width)}  ${show(entry.value)}\n`;
  await lines.add(`${'KEY'.padEnd(width)}  VALUE\n`);
  let count = 0;
  for (const entry of head) {
    await lines.add(row(entry));
    count++;
  }
  if (head.length >= SIZING_ROWS) {
    for (let next = await iterator.next(); !next.done && !lines.closed; next = await iterator.next()) {
      for (const entry of next.value) {
        await lines.add(row(entry));
        count++;
      }
    }
  }
  return count;
}

/** Streams whose reader has gone (stdout is never destroyed by an EPIPE, so this keeps count). */
const abandoned = new WeakSet<Writable>();

/** True once the reader of `out` has gone: what is written to it from then on is dropped. */
export function readerLeft(out: Writable = process.stdout): boolean {
  return abandoned.has(out);
}

/** Notes an error of `out`; true when it only means that its reader went away (EPIPE). */
export function noteReaderLeft(out: Writable, error: unknown): boolean {
  if ((error as NodeJS.ErrnoException | null)?.code !== 'EPIPE') return false;
  abandoned.add(out);
  return true;
}

/**
 * Writes one block and waits until it is taken (backpressure). A reader that went away
 * (`redmap results RUN | head`: EPIPE) is not a failure: it had what it wanted, so the rest
 * is dropped and the writers stop at their next line.
 */
function write(out: Writable, text: string): Promise<void> {
  if (readerLeft(out)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    out.write(text, (error) => (error && !noteReaderLeft(out, error) ? reject(error) : resolve()));
  });
}
