/**
 * What a job over files calls in `map`: the lines (or the line-aligned bytes) of a file
 * input, which is a plain path (the whole file) or a range of one made by `split`. A range
 * yields the lines that start in it, each whole. A `.gz` file is decompressed on the fly.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputChangedError, NonRetryableError } from '../errors.js';
import { isCompressedPath, type FileInput, type FileRange } from './file-range.js';
import { bytesThroughFirstNewline, lineBlocks, linesOfBlock, type BlockOptions, type ByteSource } from './line-blocks.js';

const COMPRESSED_CHUNK_BYTES = 256 * 1024;

export interface ReadInputOptions {
  /** Aborts the read (pass `ctx.signal`). */
  signal?: AbortSignal;
  /** Bytes read at a time; grows only for a line longer than this. Default 1 MiB. */
  bufferSize?: number;
}

/**
 * The input's bytes, in blocks that each end at a line end (the file's last block may end
 * without a newline): for a byte scanner. A block is a view into a reused buffer, valid
 * until the next one is asked for: scan it, or copy it. Throws InputChangedError when a
 * range's file is not the one submitted (its size or modification time differ).
 */
export async function* readInputBytes(input: FileInput, options: ReadInputOptions = {}): AsyncGenerator<Buffer> {
  const range = typeof input === 'string' ? undefined : input;
  const path = typeof input === 'string' ? input : input.path;
  const file = await open(path, 'r');
  try {
    if (range) await checkUnchanged(file, range);
    if (isCompressedPath(path)) yield* compressedBlocks(file, range, options);
    else yield* rangeBlocks(file, range?.start ?? 0, range?.end ?? Infinity, options);
    // A file changed while it was read may have given other bytes: fail rather than count them.
    if (range) await checkUnchanged(file, range);
  } finally {
    await file.close();
  }
}

/** The input's lines, without their `\n` or `\r\n`, decoded as UTF-8 (a line is never cut). */
export async function* readInputLines(input: FileInput, options: ReadInputOptions = {}): AsyncGenerator<string> {
  for await (const block of readInputBytes(input, options)) yield* linesOfBlock(block);
}

async function checkUnchanged(file: FileHandle, range: FileRange): Promise<void> {
  const now = await file.stat();
  if (now.size !== range.size || now.mtimeMs !== range.mtimeMs) {
    throw new InputChangedError(range.path, range, { size: now.size, mtimeMs: now.mtimeMs });
  }
}

/**
 * The lines starting in [start, end): a range that does not start the file begins after
 * the first newline at or after start - 1 (the line cut by `start` belongs to the range
 * before), and the last line read is the one holding byte end - 1, whole.
 */
async function* rangeBlocks(file: FileHandle, start: number, end: number, options: BlockOptions): AsyncGenerator<Buffer> {
  const begin = start === 0 ? 0 : start - 1 + (await bytesThroughFirstNewline(fileSource(file, start - 1), options));
  if (begin >= end) return; // a line longer than the range started before it and runs through it
  yield* lineBlocks(fileSource(file, begin), end - 1 - begin, options);
}

async function* compressedBlocks(file: FileHandle, range: FileRange | undefined, options: BlockOptions): AsyncGenerator<Buffer> {
  if (range && (range.start !== 0 || range.end !== range.size)) {
    throw new NonRetryableError(`${range.path} is compressed: it can only be read whole, not from byte ${range.start} to ${range.end}`);
  }
  // Not file.createReadStream(): destroying that closes the handle, which the last check still needs.
  const compressed = Readable.from(fileChunks(file));
  const gunzip = createGunzip();
  compressed.pipe(gunzip);
  compressed.on('error', (error) => gunzip.destroy(error));
  try {
    yield* lineBlocks(streamSource(gunzip), Infinity, options);
  } finally {
    compressed.unpipe(gunzip);
    gunzip.destroy();
    compressed.destroy();
  }
}

/** The file's bytes in fresh buffers (a stream keeps them), by positioned reads. */
async function* fileChunks(file: FileHandle): AsyncGenerator<Buffer> {
  for (let position = 0; ;) {
    const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(COMPRESSED_CHUNK_BYTES), 0, COMPRESSED_CHUNK_BYTES, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** Positioned reads from `position` on. */
function fileSource(file: FileHandle, position: number): ByteSource {
  return async (buffer, offset, length) => {
    const { bytesRead } = await file.read(buffer, offset, length, position);
    position += bytesRead;
    return bytesRead;
  };
}

/** A stream's chunks copied into the caller's buffer, as full as they allow. */
function streamSource(stream: AsyncIterable<Buffer>): ByteSource {
  const chunks = stream[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  return async (buffer, offset, length) => {
    let copied = 0;
    while (copied < length) {
      if (pending.length === 0) {
        const next = ended ? undefined : await chunks.next();
        if (!next || next.done) {
          ended = true;
          break;
        }
        pending = next.value;
      }
      const n = pending.copy(buffer, offset + copied, 0, Math.min(length - copied, pending.length));
      pending = pending.subarray(n);
      copied += n;
    }
    return copied;
  };
}
