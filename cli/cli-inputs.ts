/**
 * Inputs from the command line: arguments, `--input-file FILE` (streamed line by line,
 * never read whole) and `-` for stdin, as `lines` (each line a string) or `jsonl` (each
 * line a JSON value). Files and arguments can be read twice, so a run over them is
 * validated whole before anything is enqueued; stdin is validated as it streams.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { InputError, UsageError } from '../shared/errors.js';
import type { InputSource } from '../producer/input-chunks.js';

export type InputFormat = 'lines' | 'jsonl';

export interface CliInputs {
  arguments: string[];
  files: string[];
  format: InputFormat;
}

export function cliInputSource(inputs: CliInputs): InputSource {
  const stdinCount = inputs.arguments.filter((arg) => arg === '-').length;
  if (stdinCount > 1) throw new UsageError('"-" (standard input) can be given once');
  for (const file of inputs.files) {
    if (!existsSync(file)) throw new UsageError(`--input-file: ${file} does not exist`);
  }
  if (inputs.arguments.length === 0 && inputs.files.length === 0) {
    throw new UsageError('no inputs: give them as arguments, with --input-file FILE, or "-" to read standard input');
  }
  const read = (): AsyncIterable<unknown> => readAll(inputs);
  // Standard input can be read once: the run validates it as it streams.
  return stdinCount === 1 ? read() : read;
}

async function* readAll(inputs: CliInputs): AsyncGenerator<unknown> {
  let index = 0;
  for (const arg of inputs.arguments) {
    if (arg === '-') {
      for await (const line of readLines(process.stdin)) yield parseLine(line, inputs.format, index++, 'standard input');
    } else {
      yield parseLine(arg, inputs.format, index++, 'argument');
    }
  }
  for (const file of inputs.files) {
    for await (const line of readLines(createReadStream(file))) yield parseLine(line, inputs.format, index++, file);
  }
}

async function* readLines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let first = true;
  for await (const raw of lines) {
    // A byte-order mark some editors write is not part of the first item.
    const line = first && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
    first = false;
    if (line !== '') yield line;
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
