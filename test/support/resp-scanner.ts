/**
 * Finds where RESP frames end in a byte stream that arrives in arbitrary chunks, without
 * copying it: the reply-dropping proxy forwards bytes as they come and only needs each
 * frame's end, and for commands the first few arguments (name, SHA or script source).
 *
 * RESP2 and RESP3 both: ioredis 6 opens every connection with HELLO 3 (its `protocol`
 * option defaults to 3), so replies carry maps (%), sets (~), pushes (>), nulls (_),
 * booleans (#), doubles (,), big numbers ((), blob errors (!), verbatim strings (=) and
 * attributes (|) as well as RESP2's + - : $ *.
 */

export interface RespFrame {
  /** Offset in the scanned chunk just after the frame's last byte. */
  end: number;
  /** A RESP3 push (pub/sub message, invalidation): out of band, it answers no command. */
  push: boolean;
  /** The frame's first top-level elements, when it is an array (a command): up to `captureArgs`. */
  args: Buffer[];
}

const SIMPLE_TYPES = new Set(['+', '-', ':', '_', '#', ',', '(']);
const BULK_TYPES = new Set(['$', '!', '=']);
/** Aggregates and how many elements each announced entry stands for (a map entry is a key and a value). */
const AGGREGATE_WIDTH: Record<string, number> = { '*': 1, '~': 1, '>': 1, '%': 2, '|': 2 };
/** A header line longer than this is not RESP (Redis itself caps inline commands at 64 KiB). */
const MAX_LINE_BYTES = 64 * 1024;

interface OpenAggregate {
  left: number;
  total: number;
  /** An attribute (|) annotates the element after it and is not an element itself. */
  attribute: boolean;
}

export class RespScanner {
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** Bytes still to come of the bulk body being read, its CRLF included. */
  private bulkLeft = 0;
  private captured: Buffer[] | undefined;
  private readonly stack: OpenAggregate[] = [];
  private frameType = '';
  private args: Buffer[] = [];

  /** `inline`: a line that is not RESP is a command (what redis-cli and telnet send). */
  constructor(private readonly options: { captureArgs: number; inline: boolean }) {}

  /** The frames that end in this chunk, in order. Throws on bytes that are not RESP. */
  scan(chunk: Buffer): RespFrame[] {
    const frames: RespFrame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.bulkLeft > 0) {
        const take = Math.min(this.bulkLeft, chunk.length - at);
        this.captured?.push(chunk.subarray(at, at + take));
        at += take;
        this.bulkLeft -= take;
        if (this.bulkLeft === 0) this.endBulk(frames, at);
        continue;
      }
      const newline = chunk.indexOf(10, at);
      if (newline === -1) {
        this.keepPartialLine(chunk.subarray(at));
        break;
      }
      const line = this.takeLine(chunk.subarray(at, newline));
      at = newline + 1;
      this.readHeader(line, frames, at);
    }
    return frames;
  }

  private keepPartialLine(part: Buffer): void {
    this.lineBytes += part.length;
    if (this.lineBytes > MAX_LINE_BYTES) throw new Error(`RESP protocol error: a header line longer than ${MAX_LINE_BYTES} bytes`);
    this.line.push(part);
  }

  /** The whole header line without its CRLF. */
  private takeLine(last: Buffer): string {
    const bytes = this.line.length === 0 ? last : Buffer.concat([...this.line, last]);
    this.line = [];
    this.lineBytes = 0;
    return bytes.toString('latin1').replace(/\r$/, '');
  }

  private readHeader(line: string, frames: RespFrame[], end: number): void {
    const type = line[0] ?? '';
    if (this.stack.length === 0) {
      this.frameType = type;
      this.args = [];
      if (this.options.inline && type !== '*') {
        const words = line.split(/\s+/).filter(Boolean);
        // Redis ignores an empty inline line; it answers nothing.
        if (words.length > 0) frames.push({ end, push: false, args: words.map((word) => Buffer.from(word, 'latin1')) });
        return;
      }
    }
    if (SIMPLE_TYPES.has(type)) {
      if (this.capturing()) this.args.push(Buffer.from(line.slice(1), 'latin1'));
      this.endElement(frames, end);
    } else if (BULK_TYPES.has(type)) {
      const length = headerNumber(line);
      if (length < 0) return this.endElement(frames, end);
      this.bulkLeft = length + 2;
      this.captured = this.capturing() ? [] : undefined;
    } else if (type in AGGREGATE_WIDTH) {
      const count = headerNumber(line) * AGGREGATE_WIDTH[type]!;
      if (count <= 0) return this.endElement(frames, end);
      this.stack.push({ left: count, total: count, attribute: type === '|' });
    } else {
      throw new Error(`RESP protocol error: unexpected ${JSON.stringify(line.slice(0, 40))}`);
    }
  }

  /** True while reading one of the first `captureArgs` elements of a top-level array. */
  private capturing(): boolean {
    const top = this.stack[0];
    return this.stack.length === 1 && top !== undefined && top.total - top.left < this.options.captureArgs;
  }

  private endBulk(frames: RespFrame[], end: number): void {
    if (this.captured) this.args.push(Buffer.concat(this.captured).subarray(0, -2));
    this.captured = undefined;
    this.endElement(frames, end);
  }

  private endElement(frames: RespFrame[], end: number): void {
    for (;;) {
      const top = this.stack.at(-1);
      if (top === undefined) break;
      top.left -= 1;
      if (top.left > 0) return;
      this.stack.pop();
      if (top.attribute) return;
    }
    frames.push({ end, push: this.frameType === '>', args: this.args });
  }
}

function headerNumber(line: string): number {
  const value = Number(line.slice(1));
  if (!Number.isInteger(value)) throw new Error(`RESP protocol error: bad length in ${JSON.stringify(line.slice(0, 40))}`);
  return value;
}
