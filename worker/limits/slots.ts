import { onAbort } from '../../shared/tasks/abort-signals.js';

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

  /**
   * Waits for a slot; leaves the line, with the reason, as soon as one of `signals` aborts.
   * Several signals are watched as they are, with no signal combining them made per waiter.
   */
  async take(...signals: Array<AbortSignal | undefined>): Promise<() => void> {
    const watched = signals.filter((signal): signal is AbortSignal => signal !== undefined);
    for (const signal of watched) signal.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return this.giveBack();
    }
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (): void => {
        settled = true;
        for (const unsubscribe of unsubscribes) unsubscribe();
      };
      const handOver = (): void => {
        settle();
        resolve();
      };
      const unsubscribes = watched.map((signal) =>
        onAbort(signal, () => {
          if (settled) return;
          settle();
          this.waiting.splice(this.waiting.indexOf(handOver), 1);
          reject(signal.reason as Error);
        }),
      );
      this.waiting.push(handOver);
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
