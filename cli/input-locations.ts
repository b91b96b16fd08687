/**
 * Where each input item came from (line L of FILE), so an item the job's schema rejects can
 * be named by its line, not only by its index in the run. The producer validates files in a
 * first pass (the rejected item is the last one read) but a stream as it enqueues, up to a
 * look-ahead behind the reader; a ring of the last RING_SIZE items covers both without
 * holding a run's worth of line numbers.
 */
import type { InputSource } from '../producer/input-chunks.js';
import { InputError } from '../shared/errors.js';

/** Items whose line is remembered: above the producer's look-ahead (256 chunks of 1000) with room for two chunks more. */
const RING_SIZE = 1 << 19;

export class InputLocations {
  private readonly lines = new Uint32Array(RING_SIZE);
  private readonly sources = new Uint32Array(RING_SIZE);
  private readonly sourceNames: string[] = [];
  private lastIndex = -1;

  /** Records that item `index` (indices only grow) starts on `line` of `source`. */
  note(index: number, source: string, line: number): void {
    if (this.sourceNames.at(-1) !== source) this.sourceNames.push(source);
    const slot = index % RING_SIZE;
    this.lines[slot] = line;
    this.sources[slot] = this.sourceNames.length - 1;
    this.lastIndex = index;
  }

  /** `line L of SOURCE` for a recent item read from a file or a stream, else undefined. */
  describe(index: number): string | undefined {
    if (index > this.lastIndex || index <= this.lastIndex - RING_SIZE || index < 0) return undefined;
    const slot = index % RING_SIZE;
    const line = this.lines[slot]!;
    // 0 marks an item that came from an argument, not a line.
    return line === 0 ? undefined : `line ${line} of ${this.sourceNames[this.sources[slot]!]}`;
  }

  /** Starts a new reading: indices start again from 0. */
  reset(): void {
    this.lastIndex = -1;
    this.sourceNames.length = 0;
  }
}

const locationsOfSources = new WeakMap<object, InputLocations>();

export function attachLocations<S extends InputSource>(source: S, locations: InputLocations): S {
  locationsOfSources.set(source as object, locations);
  return source;
}

/**
 * An InputError about an item of `source` (rejected by the job's schema, say) with the item's
 * line added to its message; any other error as it is.
 */
export function withInputLocation(error: unknown, source: InputSource): unknown {
  if (!(error instanceof InputError) || / \(line \d+ of /.test(error.message)) return error;
  const where = locationsOfSources.get(source as object)?.describe(error.index);
  return where ? new InputError(error.index, `${error.message} (${where})`, { cause: error }) : error;
}
