/**
 * Input sources and chunking. A source is re-readable when it can be iterated twice (an
 * array, files, argument lists): then every item is validated before anything is
 * enqueued. A one-shot stream (stdin, a generator) is validated as it is enqueued.
 */

export type InputSource =
  | readonly unknown[]
  | Iterable<unknown>
  | AsyncIterable<unknown>
  /** A function returning a fresh iterable each call: re-readable. */
  | (() => Iterable<unknown> | AsyncIterable<unknown>);

/** Items per chunk for `chunkSize: 'auto'`: about 256 tasks for short inputs, 1000 items per task from 256,000 items on. */
export const AUTO_CHUNK_TARGET_TASKS = 256;
export const AUTO_CHUNK_MAX = 1000;
const LOOKAHEAD_ITEMS = AUTO_CHUNK_TARGET_TASKS * AUTO_CHUNK_MAX;

export function autoChunkSize(itemCount: number): number {
  return Math.min(AUTO_CHUNK_MAX, Math.max(1, Math.ceil(itemCount / AUTO_CHUNK_TARGET_TASKS)));
}

export function isRereadable(source: InputSource): boolean {
  return Array.isArray(source) || typeof source === 'function';
}

export function openSource(source: InputSource): AsyncIterable<unknown> {
  const iterable = typeof source === 'function' ? source() : source;
  if (Symbol.asyncIterator in iterable) return iterable as AsyncIterable<unknown>;
  return (async function* () {
    yield* iterable as Iterable<unknown>;
  })();
}

/**
 * For a one-shot stream whose length decides the chunk size: reads ahead up to the point
 * where the size is known, and returns it with a stream that replays what was read.
 */
export async function peekItemCount(
  stream: AsyncIterable<unknown>,
): Promise<{ countAtLeast: number; complete: boolean; stream: AsyncIterable<unknown> }> {
  const iterator = stream[Symbol.asyncIterator]();
  const buffered: unknown[] = [];
  let complete = false;
  while (buffered.length < LOOKAHEAD_ITEMS) {
    const next = await iterator.next();
    if (next.done) {
      complete = true;
      break;
    }
    buffered.push(next.value);
  }
  const replay = (async function* () {
    yield* buffered;
    if (complete) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
  return { countAtLeast: buffered.length, complete, stream: replay };
}

/** Groups a stream into chunks of `size` items, keeping each item's index in the run. */
export async function* chunkItems(
  stream: AsyncIterable<unknown>,
  size: number,
): AsyncGenerator<{ index: number; firstItem: number; items: unknown[] }> {
  let items: unknown[] = [];
  let index = 0;
  let position = 0;
  for await (const item of stream) {
    items.push(item);
    position++;
    if (items.length === size) {
      yield { index: index++, firstItem: position - items.length, items };
      items = [];
    }
  }
  if (items.length > 0) yield { index, firstItem: position - items.length, items };
}
