/**
 * [key, value] pairs are stored as JSON batches of bounded size, so no single Redis
 * command carries or blocks on more than about one batch.
 */

/** Target size of one batch in UTF-16 code units (close to bytes for most text). */
export const BATCH_TARGET_SIZE = 256 * 1024;

export function encodeBatches(pairs: Iterable<readonly [string, unknown]>, targetSize = BATCH_TARGET_SIZE): string[] {
  const encoder = new BatchEncoder(targetSize);
  for (const pair of pairs) encoder.add(pair);
  return encoder.finish();
}

/** Builds batches incrementally; `add` returns a batch when one fills up. */
export class BatchEncoder {
  private parts: string[] = [];
  private size = 0;
  private readonly done: string[] = [];

  constructor(private readonly targetSize = BATCH_TARGET_SIZE) {}

  add(pair: readonly [string, unknown]): void {
    const text = JSON.stringify(pair);
    this.parts.push(text);
    this.size += text.length + 1;
    if (this.size >= this.targetSize) this.flush();
  }

  /** Batches completed so far, removed from the encoder. */
  drain(): string[] {
    return this.done.splice(0, this.done.length);
  }

  finish(): string[] {
    this.flush();
    return this.drain();
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.done.push(`[${this.parts.join(',')}]`);
    this.parts = [];
    this.size = 0;
  }
}

export function decodeBatch(text: string, where: string): Array<[string, unknown]> {
  const pairs = JSON.parse(text) as unknown;
  if (!Array.isArray(pairs)) throw new Error(`corrupt batch in ${where}: not a JSON array`);
  return pairs as Array<[string, unknown]>;
}
