/**
 * Reading bytes in blocks that end at line ends, from any source that fills a buffer. Blocks
 * are views into one reused buffer: each is valid until the next is asked for, so a file
 * is scanned with no allocation per read.
 */

export const NEWLINE = 0x0a;
export const DEFAULT_BUFFER_BYTES = 1 << 20;

/** Fills `buffer[offset, offset + length)` from where the last call stopped; resolves to the bytes read, 0 at the end. */
export type ByteSource = (buffer: Buffer, offset: number, length: number) => Promise<number>;

export interface BlockOptions {
  bufferSize?: number;
  signal?: AbortSignal;
}

/**
 * Blocks of whole lines, from the source's start up to and including the first newline at
 * or after offset `lastLineFrom` (counted from the source's start), or to the end of the
 * source: the line that holds offset `lastLineFrom` is the last one read, whole.
 */
export async function* lineBlocks(read: ByteSource, lastLineFrom: number, options: BlockOptions = {}): AsyncGenerator<Buffer> {
  let buffer = Buffer.allocUnsafe(options.bufferSize ?? DEFAULT_BUFFER_BYTES);
  let carried = 0;
  let offset = 0; // of buffer[0] in the source
  for (;;) {
    options.signal?.throwIfAborted();
    if (carried === buffer.length) buffer = Buffer.concat([buffer], buffer.length * 2); // a line longer than the buffer
    const bytesRead = await read(buffer, carried, buffer.length - carried);
    const filled = buffer.subarray(0, carried + bytesRead);
    const last = lastLineEnd(filled, lastLineFrom - offset);
    if (last >= 0) {
      yield filled.subarray(0, last + 1);
      return;
    }
    if (bytesRead === 0) {
      if (filled.length > 0) yield filled; // a last line with no newline
      return;
    }
    const lastNewline = filled.lastIndexOf(NEWLINE);
    if (lastNewline >= 0) {
      yield filled.subarray(0, lastNewline + 1);
      carried = buffer.copy(buffer, 0, lastNewline + 1, filled.length);
      offset += lastNewline + 1;
    } else {
      carried = filled.length;
    }
  }
}

/** The index of the first newline at or after `from` in `filled`, or -1. */
function lastLineEnd(filled: Buffer, from: number): number {
  if (from >= filled.length) return -1;
  return filled.indexOf(NEWLINE, Math.max(0, from));
}

/**
 * How many bytes the source holds up to and including its first newline: where its first
 * whole line starts. The source's length when it holds none.
 */
export async function bytesThroughFirstNewline(read: ByteSource, options: BlockOptions = {}): Promise<number> {
  const buffer = Buffer.allocUnsafe(Math.min(options.bufferSize ?? DEFAULT_BUFFER_BYTES, 64 * 1024));
  let offset = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const bytesRead = await read(buffer, 0, buffer.length);
    if (bytesRead === 0) return offset;
    const newline = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    if (newline >= 0) return offset + newline + 1;
    offset += bytesRead;
  }
}

/** The lines of a block of whole lines, without their `\n` or `\r\n`, decoded as UTF-8. */
export function* linesOfBlock(block: Buffer): Generator<string> {
  let start = 0;
  while (start < block.length) {
    const newline = block.indexOf(NEWLINE, start);
    if (newline < 0) {
      yield block.toString('utf8', start); // the file's last line, with no newline
      return;
    }
    const end = newline > start && block[newline - 1] === 0x0d ? newline - 1 : newline;
    yield block.toString('utf8', start, end);
    start = newline + 1;
  }
}
