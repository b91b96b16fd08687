/**
 * Combines abort signals and lets go of them again. Node 20's `AbortSignal.any` registers
 * each combined signal on its sources until the garbage collector clears it, and costs a
 * few microseconds more; a worker combines its long-lived shutdown and run signals with
 * every task's, thousands of times a second, so here the combination ends with the task.
 */
export interface CombinedSignal {
  readonly signal: AbortSignal;
  /** Removes the listeners on the sources; call it once the signal is no longer needed. */
  dispose(): void;
}

const NOTHING_TO_DISPOSE = (): void => {};

/** A signal that aborts, with the same reason, as soon as any of `signals` does. */
export function combineSignals(...signals: Array<AbortSignal | undefined>): CombinedSignal {
  const sources = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const settled = sources.find((signal) => signal.aborted) ?? (sources.length === 1 ? sources[0] : undefined);
  if (settled) return { signal: settled, dispose: NOTHING_TO_DISPOSE };
  const controller = new AbortController();
  const listeners = sources.map((source) => {
    const listener = (): void => controller.abort(source.reason);
    source.addEventListener('abort', listener, { once: true });
    return listener;
  });
  return {
    signal: controller.signal,
    dispose() {
      sources.forEach((source, i) => source.removeEventListener('abort', listeners[i]!));
    },
  };
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
