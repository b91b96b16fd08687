/**
 * Inputs from the command line: arguments, `--input-file FILE` (streamed line by line,
 * never read whole) and `-` for stdin, as `lines` (each line a string), `jsonl` (each
 * line a JSON value) or `csv` (a header row, then an object per row). Files and arguments
 * can be read twice, so a run over them is validated whole before anything is enqueued;
 * stdin is validated as it streams. Glob patterns among the arguments (`lines` only: a JSON
 * argument may hold `[`) and the files are expanded (cli/input-globs.ts).
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { InputError, UsageError } from '../shared/errors.js';
import type { InputSource } from '../producer/input-chunks.js';
import { CsvRowError, readCsvRows } from './csv-inputs.js';
import { expandGlobs } from './input-globs.js';
import { attachLocations, InputLocations } from './input-locations.js';

export const INPUT_FORMATS = ['lines', 'jsonl', 'csv'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export interface CliInputs {
  arguments: string[];
  files: string[];
  format: InputFormat;
  /** Expand glob patterns in arguments and files (`--no-glob` turns it off). Default true. */
  glob?: boolean;
}

/** An item and the line it starts on (0 for an argument). */
interface LocatedItem {
  item: unknown;
  line: number;
}

export function cliInputSource(given: CliInputs): InputSource {
  const inputs = withGlobsExpanded(given);
  const stdinCount = inputs.arguments.filter((arg) => arg === '-').length;
  if (stdinCount > 1) throw new UsageError('"-" (standard input) can be given once');
  if (inputs.format === 'csv' && inputs.arguments.some((arg) => arg !== '-')) {
    throw new UsageError(
      '--input-format csv reads files: give them with --input-file FILE, or "-" for standard input (arguments are not rows)',
    );
  }
  for (const file of inputs.files) {
    if (!existsSync(file)) throw new UsageError(`--input-file: ${file} does not exist`);
  }
  if (inputs.arguments.length === 0 && inputs.files.length === 0) {
    throw new UsageError('no inputs: give them as arguments, with --input-file FILE, or "-" to read standard input');
  }
  const locations = new InputLocations();
  const read = (): AsyncIterable<unknown> => readAll(inputs, locations);
  // Standard input can be read once: the run validates it as it streams.
  return attachLocations(stdinCount === 1 ? read() : read, locations);
}

function withGlobsExpanded(inputs: CliInputs): CliInputs {
  if (inputs.glob === false) return inputs;
  return {
    ...inputs,
    arguments: inputs.format === 'lines' ? expandGlobs(inputs.arguments, 'argument') : inputs.arguments,
    files: expandGlobs(inputs.files, '--input-file'),
  };
}

async function* readAll(inputs: CliInputs, locations: InputLocations): AsyncGenerator<unknown> {
  locations.reset();
  let index = 0;
  const sources = [...inputs.arguments.map((arg) => ({ arg })), ...inputs.files.map((file) => ({ file }))];
  for (const source of sources) {
    const where = 'file' in source ? source.file : source.arg === '-' ? 'standard input' : 'argument';
    const items =
      'file' in source || source.arg === '-'
        ? readStream('file' in source ? createReadStream(source.file) : process.stdin, inputs.format, where, index)
        : [{ item: parseLine(source.arg, inputs.format, index, where), line: 0 }];
    for await (const { item, line } of items) {
      locations.note(index++, where, line);
      yield item;
    }
  }
}

async function* readStream(
  stream: NodeJS.ReadableStream,
  format: InputFormat,
  where: string,
  firstIndex: number,
): AsyncGenerator<LocatedItem> {
  if (format !== 'csv') {
    let index = firstIndex;
    for await (const { text, line } of readLines(stream))
      yield { item: parseLine(text, format, index++, `line ${line} of ${where}`), line };
    return;
  }
  try {
    for await (const { record, line } of readCsvRows(stream)) yield { item: record, line };
  } catch (error) {
    if (!(error instanceof CsvRowError)) throw error;
    // Counted by the parser: a stream's iterator drops the rows it still buffered when the parser fails.
    const index = firstIndex + error.rowsBefore;
    throw new InputError(
      index,
      `input item #${index} (line ${error.line} of ${where}) is not a valid CSV row (--input-format csv): ${error.reason}`,
    );
  }
}

async function* readLines(stream: NodeJS.ReadableStream): AsyncGenerator<{ text: string; line: number }> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line++;
    // A byte-order mark some editors write is not part of the first item.
    const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
    if (text !== '') yield { text, line };
  }
}

function parseLine(line: string, format: InputFormat, index: number, where: string): unknown {
  if (format === 'lines') return line;
  try {
    return JSON.parse(line) as unknown;
  } catch (error) {
    throw new InputError(index, `input item #${index} (${where}) is not valid JSON (--input-format jsonl): ${(error as Error).message}`);
  }
}
