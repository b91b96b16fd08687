/**
 * `split`: each input item, a file path, becomes the byte ranges of its file
 * (shared/files/file-range.ts), with the file's size and modification time now, so a task
 * can tell when the file changed under it. A compressed file becomes one range, the whole file.
 */
import { stat } from 'node:fs/promises';
import { InputError } from '../shared/errors.js';
import { parseOption, show } from '../shared/data/validation.js';
import { validateInputItem } from '../shared/job/input-schema.js';
import type { Job } from '../shared/job/job-definition.js';
import { SUBMIT_OPTION_FIELDS } from '../shared/run/run-options.js';
import { fileRanges, isCompressedPath, type FileRange } from '../shared/files/file-range.js';
import { isRereadable, openSource, type InputSource } from './input-chunks.js';

export interface SplitOptions extends SplitHooks {
  /** Bytes per range ("64MiB", or a number); undefined maps the inputs as given. */
  split?: number | string;
}

export interface SplitHooks {
  /** Called for each input read whole because it cannot be split (a `.gz` file), each time the inputs are read. */
  onWholeFile?(path: string): void;
}

/** The inputs as given, or as the byte ranges of their files with `split`. */
export function splitInputs(inputs: InputSource, options: SplitOptions): InputSource {
  if (options.split === undefined) return inputs;
  return splitFileInputs(inputs, parseOption('split', SUBMIT_OPTION_FIELDS.split, options.split), options);
}

export type ItemValidator = (item: unknown, index: number) => Promise<unknown>;

/** Checks an item against the job's schema; with `split`, a rejected range says the job must take ranges. */
export function inputValidator(job: Job, split: boolean): ItemValidator {
  return async (item, index) => {
    try {
      return await validateInputItem(job.name, job.input, item, index);
    } catch (error) {
      throw split ? explainRangeRejection(error) : error;
    }
  };
}

/** The ranges of every input; re-readable when the inputs are. */
export function splitFileInputs(inputs: InputSource, splitBytes: number, hooks: SplitHooks = {}): InputSource {
  const read = (): AsyncIterable<unknown> => rangesOfInputs(openSource(inputs), splitBytes, hooks);
  return isRereadable(inputs) ? read : read();
}

async function* rangesOfInputs(inputs: AsyncIterable<unknown>, splitBytes: number, hooks: SplitHooks): AsyncGenerator<FileRange> {
  let index = 0;
  for await (const input of inputs) yield* await rangesOfInput(input, index++, splitBytes, hooks);
}

async function rangesOfInput(input: unknown, index: number, splitBytes: number, hooks: SplitHooks): Promise<Iterable<FileRange>> {
  if (typeof input !== 'string' || input === '') {
    throw new InputError(index, `input item #${index} ${show(input)}: with split, each input must be the path of a file`);
  }
  const stats = await stat(input).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(index, `input item #${index}: cannot split ${input}: ${error.message}`, { cause: error });
  });
  if (!stats.isFile()) throw new InputError(index, `input item #${index}: cannot split ${input}: not a regular file`);
  if (isCompressedPath(input)) {
    hooks.onWholeFile?.(input);
    return [{ path: input, start: 0, end: stats.size, size: stats.size, mtimeMs: stats.mtimeMs }];
  }
  return fileRanges(input, stats.size, stats.mtimeMs, splitBytes);
}

/** A schema's rejection of a range, with what to do about it: the job must take ranges. */
function explainRangeRejection(error: unknown): unknown {
  if (!(error instanceof InputError)) return error;
  return new InputError(
    error.index,
    `${error.message} (with split, each input is a file range {path, start, end, size, mtimeMs}: ` +
      "the job's input must accept one, e.g. input: fileInputSchema from redmap)",
    { cause: error },
  );
}
