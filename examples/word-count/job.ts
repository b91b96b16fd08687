/**
 * Counts words in text files: a word is a maximal run of ASCII letters and digits
 * ([A-Za-z0-9]), lowercased; every other byte (punctuation, CR, any byte of a non-ASCII
 * UTF-8 character) separates words. Inputs are file paths (`.gz` too), or byte ranges of
 * files with `--split`.
 *
 * It scans bytes and counts words in a table keyed by their bytes, so a word becomes a
 * string once, when first seen, rather than at each of its occurrences: see README.md.
 */
import { defineJob, fileInputSchema, readInputBytes, type FileInput, type ReadInputOptions } from 'redmap';

/** Byte → its lowercase form if it is [A-Za-z0-9], else 0 (a separator). */
const WORD_BYTE = new Uint8Array(256);
for (let byte = 0x30; byte <= 0x39; byte++) WORD_BYTE[byte] = byte;
for (let byte = 0x61; byte <= 0x7a; byte++) WORD_BYTE[byte] = WORD_BYTE[byte - 0x20] = byte;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** An open-addressing hash table from word bytes to counts; words live side by side in one growing buffer. */
export class WordTable {
  private slots = new Int32Array(1 << 12); // entry + 1; 0 is an empty slot
  private hashes = new Int32Array(1 << 11);
  private starts = new Int32Array(1 << 11);
  private lengths = new Int32Array(1 << 11);
  private counts = new Float64Array(1 << 11);
  private bytes = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  size = 0;

  /** Counts the word `source[start, start + length)`, already known to be word bytes; `hash` is FNV-1a of its lowercase form. */
  add(source: Uint8Array, start: number, length: number, hash: number): void {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]! - 1;
      if (entry < 0) {
        this.insert(slot, source, start, length, hash);
        return;
      }
      if (this.hashes[entry] === hash && this.lengths[entry] === length && this.matches(entry, source, start, length)) {
        this.counts[entry]!++;
        return;
      }
    }
  }

  *entries(): Generator<[string, number]> {
    for (let entry = 0; entry < this.size; entry++) {
      const start = this.starts[entry]!;
      yield [this.bytes.toString('latin1', start, start + this.lengths[entry]!), this.counts[entry]!];
    }
  }

  private matches(entry: number, source: Uint8Array, start: number, length: number): boolean {
    const at = this.starts[entry]!;
    for (let i = 0; i < length; i++) if (this.bytes[at + i] !== WORD_BYTE[source[start + i]!]) return false;
    return true;
  }

  private insert(slot: number, source: Uint8Array, start: number, length: number, hash: number): void {
    if (this.size === this.hashes.length) this.growEntries();
    while (this.used + length > this.bytes.length) this.bytes = Buffer.concat([this.bytes], this.bytes.length * 2);
    for (let i = 0; i < length; i++) this.bytes[this.used + i] = WORD_BYTE[source[start + i]!]!;
    const entry = this.size++;
    this.hashes[entry] = hash;
    this.starts[entry] = this.used;
    this.lengths[entry] = length;
    this.counts[entry] = 1;
    this.used += length;
    this.slots[slot] = entry + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
  }

  private growEntries(): void {
    const grow = <T extends Int32Array | Float64Array>(old: T, bigger: T): T => (bigger.set(old), bigger);
    const capacity = this.hashes.length * 2;
    this.hashes = grow(this.hashes, new Int32Array(capacity));
    this.starts = grow(this.starts, new Int32Array(capacity));
    this.lengths = grow(this.lengths, new Int32Array(capacity));
    this.counts = grow(this.counts, new Float64Array(capacity));
  }

  /** Keeps the table at most half full, so probe runs stay short. */
  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let entry = 0; entry < this.size; entry++) {
      let slot = this.hashes[entry]! & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = entry + 1;
    }
  }
}

/** Counts the words of `buffer[start, end)`, which must not end in the middle of a word. */
export function countWords(buffer: Uint8Array, start: number, end: number, table: WordTable): void {
  let i = start;
  while (i < end) {
    while (i < end && WORD_BYTE[buffer[i]!] === 0) i++;
    const wordStart = i;
    let hash = FNV_OFFSET;
    for (; i < end; i++) {
      const byte = WORD_BYTE[buffer[i]!]!;
      if (byte === 0) break;
      hash = Math.imul(hash ^ byte, FNV_PRIME);
    }
    if (i > wordStart) table.add(buffer, wordStart, i - wordStart, hash);
  }
}

export type ScanOptions = ReadInputOptions;

/**
 * Counts the words of a file, of the lines that start in a range of it (`--split`), or of
 * a `.gz` file. `readInputBytes` hands over blocks of whole lines from one reused buffer,
 * and a newline separates words, so no word is cut between blocks.
 */
export async function countWordsInFile(input: FileInput, options: ScanOptions = {}): Promise<WordTable> {
  const table = new WordTable();
  for await (const block of readInputBytes(input, options)) countWords(block, 0, block.length, table);
  return table;
}

export default defineJob({
  name: 'word-count',
  input: fileInputSchema, // a path, or a byte range of one with --split
  async *map(input: FileInput, ctx) {
    const table = await countWordsInFile(input, { signal: ctx.signal });
    yield* table.entries();
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values) => values.reduce((sum, value) => sum + value, 0),
});
