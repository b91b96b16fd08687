/**
 * Stopping on a signal: the first one stops gently (drain, cancel), a second one exits at
 * once with the interrupted code. Ctrl-C reaches the whole process group, so `redmap run`,
 * `redmap worker` and every worker process each see it and each answer it so.
 */
import { EXIT } from './exit-codes.js';

export interface StopSignals {
  /** How many of the signals arrived so far. */
  readonly received: number;
  /** Stops listening. */
  off(): void;
}

export function onStopSignals(
  signals: readonly NodeJS.Signals[],
  handlers: { first(signal: NodeJS.Signals): void; again(signal: NodeJS.Signals): void },
): StopSignals {
  let received = 0;
  const listener = (signal: NodeJS.Signals): void => {
    received++;
    if (received > 1) {
      handlers.again(signal);
      process.exit(EXIT.interrupted);
    }
    handlers.first(signal);
  };
  for (const signal of signals) process.on(signal, listener);
  return {
    get received() {
      return received;
    },
    off: () => {
      for (const signal of signals) process.off(signal, listener);
    },
  };
}
