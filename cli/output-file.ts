/**
 * `--output FILE`: results written to a file whose format its name gives (`.jsonl`, `.csv`),
 * in the same shapes as on stdout. They stream into a temporary file beside FILE (the same
 * folder, so the rename is atomic) that is renamed to FILE once all are written and synced:
 * FILE is either absent, as it was, or complete. A SIGINT or SIGTERM while writing removes
 * the temporary file and leaves FILE as it was.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, createWriteStream, fsyncSync, openSync, rmSync, statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UsageError } from '../shared/errors.js';
import { failpoint } from '../shared/failpoints.js';
import { stringFlag, type OptionSpec, type ParsedArgs } from './args.js';
import { writeResults, type ResultBlocks } from './output.js';

export const OUTPUT_FILE_OPTION: Record<string, OptionSpec> = {
  output: {
    type: 'string',
    short: 'o',
    value: 'FILE',
    description:
      'write the results to FILE, not stdout: .jsonl or .csv by its name; renamed into place once the run is done, never written for a failed or cancelled run',
  },
};

const FORMAT_OF_EXTENSION: Record<string, 'jsonl' | 'csv'> = { '.jsonl': 'jsonl', '.csv': 'csv' };

export interface OutputFile {
  /** Absolute, so a later change of folder cannot move it. */
  path: string;
  format: 'jsonl' | 'csv';
}

/** `--output`, checked before anything runs: a format its name gives, and a folder that exists and can be written. */
export function outputFileFlag(args: ParsedArgs): OutputFile | undefined {
  const given = stringFlag(args, 'output');
  if (given === undefined) return undefined;
  const extension = extname(given).toLowerCase();
  const format = FORMAT_OF_EXTENSION[extension];
  if (!format) {
    throw new UsageError(
      `--output: expected a file name ending in .jsonl or .csv (the format is taken from it), got ${JSON.stringify(given)}`,
    );
  }
  const formatFlag = stringFlag(args, 'format');
  if (formatFlag !== undefined && formatFlag !== format) {
    throw new UsageError(`--format ${formatFlag} disagrees with --output ${given}, which is written as ${format}: leave --format out`);
  }
  const path = resolve(given);
  checkWritableFolder(dirname(path), given);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--output: ${given} is a folder`);
  return { path, format };
}

function checkWritableFolder(folder: string, given: string): void {
  if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--output: the folder of ${given} (${folder}) does not exist`);
  }
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UsageError(`--output: cannot write to the folder of ${given} (${folder})`);
  }
}

/** A hidden name beside the file, unique to this process and call. */
export function temporaryPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Streams `results` into the file, through a temporary file renamed at the end. Returns how
 * many were written, or 'interrupted' when `signal`, a SIGINT or a SIGTERM stopped it: then
 * nothing was written and no temporary file is left.
 */
export async function writeResultsFile(results: ResultBlocks, file: OutputFile, signal?: AbortSignal): Promise<number | 'interrupted'> {
  const temporary = temporaryPathBeside(file.path);
  const stop = new AbortController();
  const onStop = (): void => stop.abort();
  // A second Ctrl-C makes `run` exit at once: the temporary file goes with the process.
  const onExit = (): void => rmSync(temporary, { force: true });
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const name of signals) process.on(name, onStop);
  process.on('exit', onExit);
  signal?.addEventListener('abort', onStop);
  if (signal?.aborted) stop.abort();
  try {
    const count = await writeWhole(stoppable(results, stop.signal), file.format, temporary);
    if (stop.signal.aborted) throw stop.signal.reason;
    await rename(temporary, file.path);
    return count;
  } catch (error) {
    rmSync(temporary, { force: true });
    if (stop.signal.aborted) return 'interrupted';
    throw error;
  } finally {
    for (const name of signals) process.off(name, onStop);
    process.off('exit', onExit);
    signal?.removeEventListener('abort', onStop);
  }
}

/** Writes every result to a new file and syncs it, so the rename publishes complete data. */
async function writeWhole(results: ResultBlocks, format: 'jsonl' | 'csv', path: string): Promise<number> {
  const fd = openSync(path, 'wx');
  try {
    await failpoint('writing-output'); // a test's window to interrupt a write in progress
    // Our own descriptor, kept open past the stream's end so it can be synced.
    const out = createWriteStream('', { fd, autoClose: false });
    const count = await writeResults(results, format, out);
    await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
    fsyncSync(fd);
    return count;
  } finally {
    closeSync(fd);
  }
}

/** The results until `signal` aborts; then the abort's reason is thrown. */
async function* stoppable<T>(items: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const item of items) {
    signal.throwIfAborted();
    yield item;
  }
  signal.throwIfAborted();
}
