/**
 * Abort signals shared by many tasks. Node 20's `AbortSignal.any` registers each combined
 * signal on its sources until the garbage collector clears it, and costs a few microseconds
 * more; a worker holds thousands of tasks a second against the same few long-lived signals
 * (its shutdown, each run's), so it listens once per signal and combines once per pair.
 */

/**
 * Who listens on each signal through `onAbort`. A signal gets one listener of its own, which
 * calls them all: EventTarget's addEventListener and removeEventListener walk every listener
 * already there (a duplicate check), and a worker's shutdown and run signals carry one for
 * each task it holds (150 at --concurrency 50), which made every add and remove cost ~5 µs.
 */
const subscribers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `listener` once when `signal` (not aborted yet) aborts; returns what stops listening, in O(1). */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  let listeners = subscribers.get(signal);
  if (!listeners) {
    const created = new Set<() => void>();
    subscribers.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        subscribers.delete(signal);
        for (const call of created) {
          try {
            call();
          } catch (error) {
            // As EventTarget does: one listener's error neither stops the others nor goes unseen.
            process.nextTick(() => {
              throw error;
            });
          }
        }
      },
      { once: true },
    );
    listeners = created;
  }
  listeners.add(listener);
  const subscribed = listeners;
  return () => void subscribed.delete(listener);
}

const combinedPairs = new WeakMap<AbortSignal, WeakMap<AbortSignal, AbortSignal>>();

/**
 * One signal that aborts when either of two long-lived signals does (a run's and the
 * worker's), made once per pair and shared by every task that needs it, instead of one per
 * task. `AbortSignal.any` holds its sources weakly, so the pair is let go with its signals.
 */
export function sharedCombination(first: AbortSignal, second: AbortSignal): AbortSignal {
  let withFirst = combinedPairs.get(first);
  if (!withFirst) combinedPairs.set(first, (withFirst = new WeakMap()));
  let combined = withFirst.get(second);
  if (!combined) withFirst.set(second, (combined = AbortSignal.any([first, second])));
  return combined;
}
