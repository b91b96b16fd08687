/**
 * Counts the error responses (status 400-599) in nginx "combined" access logs, by status
 * and path: key "404 /wp-login.php", value the number of such lines. Inputs are file paths
 * (`.gz` too), or byte ranges of files with `--split`.
 *
 * It scans bytes rather than splitting lines into strings: see README.md for why, and for
 * the exact line grammar (the same one the GNU grep/sed pipeline there uses).
 */
import { defineJob, fileInputSchema, readInputBytes, type FileInput, type ReadInputOptions } from 'redmap';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const QUESTION_MARK = 0x3f;
const CLOSE_BRACKET = 0x5d;
const DIGIT_0 = 0x30;
/** "HTTP/" */
const PROTOCOL_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f];

/** Counts of one file: status, then path without its query string, then number of lines. */
export type ErrorCounts = Map<number, Map<string, number>>;

export type ScanOptions = ReadInputOptions;

/**
 * Counts the error lines of a file, or of the lines that start in a range of it (`--split`),
 * or of a `.gz` file. `readInputBytes` hands over blocks of whole lines from one reused
 * buffer, scanned in place: nothing is allocated per read or per line.
 */
export async function countErrorsInFile(input: FileInput, options: ScanOptions = {}): Promise<ErrorCounts> {
  const counts: ErrorCounts = new Map();
  for await (const block of readInputBytes(input, options)) countLines(block, 0, block.length, counts);
  return counts;
}

function countLines(buffer: Buffer, start: number, end: number, counts: ErrorCounts): void {
  while (start < end) {
    let lineEnd = buffer.indexOf(NEWLINE, start);
    if (lineEnd < 0 || lineEnd > end) lineEnd = end;
    const next = lineEnd + 1;
    if (lineEnd > start && buffer[lineEnd - 1] === CARRIAGE_RETURN) lineEnd--;
    countLine(buffer, start, lineEnd, counts);
    start = next;
  }
}

/**
 * One line, `start` to `end` (newline and CR excluded). Most lines are 2xx/3xx, so the
 * status is checked right after finding the request's quotes, before anything else.
 */
function countLine(b: Buffer, start: number, end: number, counts: ErrorCounts): void {
  // The request is the first quoted field; nginx escapes `"` inside fields, so the next quote closes it.
  const open = b.indexOf(QUOTE, start);
  if (open < start + 2 || open >= end) return;
  const close = b.indexOf(QUOTE, open + 1);
  if (close < 0 || close + 6 >= end) return;
  const first = b[close + 2]!;
  if (first !== DIGIT_0 + 4 && first !== DIGIT_0 + 5) return;
  if (b[close + 1] !== SPACE || !isDigit(b[close + 3]!) || !isDigit(b[close + 4]!) || b[close + 5] !== SPACE) return;
  if (b[open - 1] !== SPACE || b[open - 2] !== CLOSE_BRACKET || !hasCombinedTail(b, close + 6, end)) return;

  const target = methodEnd(b, open + 1, close) + 1;
  if (target === open + 1) return;
  const targetEnd = b.indexOf(SPACE, target);
  if (targetEnd <= target || targetEnd >= close || !isProtocol(b, targetEnd + 1, close)) return;
  let pathEnd = target;
  while (pathEnd < targetEnd && b[pathEnd] !== QUESTION_MARK) pathEnd++;

  const status = (first - DIGIT_0) * 100 + (b[close + 3]! - DIGIT_0) * 10 + (b[close + 4]! - DIGIT_0);
  const path = b.toString('utf8', target, pathEnd);
  let paths = counts.get(status);
  if (!paths) counts.set(status, (paths = new Map()));
  paths.set(path, (paths.get(path) ?? 0) + 1);
}

/** `BYTES "REFERER" "USER_AGENT"` from `i` to the end of the line, and nothing after it. */
function hasCombinedTail(b: Buffer, i: number, end: number): boolean {
  const digits = i;
  while (i < end && isDigit(b[i]!)) i++;
  if (i === digits || i + 1 >= end || b[i] !== SPACE || b[i + 1] !== QUOTE) return false;
  const refererEnd = b.indexOf(QUOTE, i + 2);
  if (refererEnd < 0 || refererEnd + 2 >= end || b[refererEnd + 1] !== SPACE || b[refererEnd + 2] !== QUOTE) return false;
  return b.indexOf(QUOTE, refererEnd + 3) === end - 1;
}

/** Where the method (capital letters, at least one) ends, if a space follows it; else `start - 1`. */
function methodEnd(b: Buffer, start: number, close: number): number {
  let i = start;
  while (i < close && b[i]! >= 0x41 && b[i]! <= 0x5a) i++;
  return i > start && b[i] === SPACE ? i : start - 1;
}

/** `HTTP/` and at least one more byte up to the closing quote, with no space. */
function isProtocol(b: Buffer, start: number, close: number): boolean {
  if (close - start <= PROTOCOL_PREFIX.length) return false;
  for (let k = 0; k < PROTOCOL_PREFIX.length; k++) if (b[start + k] !== PROTOCOL_PREFIX[k]) return false;
  for (let i = start + PROTOCOL_PREFIX.length; i < close; i++) if (b[i] === SPACE) return false;
  return true;
}

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_0 + 9;
}

function* errorPairs(counts: ErrorCounts): Generator<readonly [string, number]> {
  for (const [status, paths] of counts) {
    for (const [target, count] of paths) yield [`${status} ${target}`, count];
  }
}

export default defineJob({
  name: 'log-errors',
  input: fileInputSchema, // a path, or a byte range of one with --split
  // Counting into a Map first means one pair per distinct key leaves the call, not one per
  // line; and they leave as a plain iterable, read in one go, not through an async generator
  // that would cost a promise for each of them.
  async map(input: FileInput, ctx) {
    return errorPairs(await countErrorsInFile(input, { signal: ctx.signal }));
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values) => values.reduce((sum, value) => sum + value, 0),
});
