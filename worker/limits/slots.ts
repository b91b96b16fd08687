/**
 * A fixed number of slots, handed out in arrival order. `take` waits for a free one and
 * returns the function that gives it back (calling it again does nothing).
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** A free slot's give-back, or undefined when none is free (nothing waits). */
  tryTake(): (() => void) | undefined {
    if (this.free === 0) return undefined;
    this.free--;
    return this.giveBack();
  }

  async take(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return this.giveBack();
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiting.splice(this.waiting.indexOf(handOver), 1);
        reject(signal!.reason as Error);
      };
      const handOver = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiting.push(handOver);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.giveBack();
  }

  private giveBack(): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // A waiter gets the slot directly, so none is free in between for a newcomer to take.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
