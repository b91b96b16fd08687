/**
 * Values grouped by key. With a combine function each key holds one value, folded as
 * values arrive; without one it holds every value in arrival order.
 */
export class KeyGroups {
  private readonly combined = new Map<string, unknown>();
  private readonly lists = new Map<string, unknown[]>();

  constructor(private readonly combine: ((a: unknown, b: unknown) => unknown) | undefined) {}

  add(key: string, value: unknown): void {
    if (this.combine) {
      const current = this.combined.get(key);
      this.combined.set(key, current === undefined && !this.combined.has(key) ? value : this.combine(current, value));
      return;
    }
    const list = this.lists.get(key);
    if (list) list.push(value);
    else this.lists.set(key, [value]);
  }

  get size(): number {
    return this.combine ? this.combined.size : this.lists.size;
  }

  keys(): IterableIterator<string> {
    return this.combine ? this.combined.keys() : this.lists.keys();
  }

  /** Removes a key and returns its values, to free memory as keys are reduced. */
  take(key: string): unknown[] {
    if (this.combine) {
      const value = this.combined.get(key);
      this.combined.delete(key);
      return [value];
    }
    const values = this.lists.get(key) ?? [];
    this.lists.delete(key);
    return values;
  }

  /** Every key with its values (one value per key when combining). */
  *groups(): IterableIterator<[string, unknown[]]> {
    if (this.combine) {
      for (const [key, value] of this.combined) yield [key, [value]];
    } else {
      yield* this.lists;
    }
  }

  /** Every [key, value] pair: all values of a key together, in arrival order. */
  *pairs(): IterableIterator<[string, unknown]> {
    if (this.combine) {
      yield* this.combined;
      return;
    }
    for (const [key, values] of this.lists) {
      for (const value of values) yield [key, value];
    }
  }
}
