import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { combineSignals, onAbort } from '../../shared/tasks/abort-signals.js';

describe('combineSignals', () => {
  it('aborts with the reason of whichever source aborts first', () => {
    const first = new AbortController();
    const second = new AbortController();
    const combined = combineSignals(first.signal, second.signal);
    expect(combined.signal.aborted).toBe(false);
    second.abort(new Error('second'));
    first.abort(new Error('first'));
    expect((combined.signal.reason as Error).message).toBe('second');
  });

  it('is already aborted when a source is', () => {
    const aborted = AbortSignal.abort(new Error('gone'));
    const combined = combineSignals(new AbortController().signal, aborted);
    expect((combined.signal.reason as Error).message).toBe('gone');
  });

  it('skips undefined sources and passes a single source through', () => {
    const only = new AbortController().signal;
    expect(combineSignals(undefined, only).signal).toBe(only);
  });

  it('leaves one listener at most on a source, however many combinations were made on it', () => {
    const longLived = new AbortController();
    const held = Array.from({ length: 100 }, () => combineSignals(longLived.signal, new AbortController().signal));
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(1);
    for (const combined of held) combined.dispose();
    expect(getEventListeners(longLived.signal, 'abort').length).toBeLessThanOrEqual(1);
  });

  it('no longer follows its sources once disposed', () => {
    const longLived = new AbortController();
    const disposed = combineSignals(longLived.signal, new AbortController().signal);
    const kept = combineSignals(longLived.signal, new AbortController().signal);
    disposed.dispose();
    longLived.abort(new Error('shutdown'));
    expect(disposed.signal.aborted).toBe(false);
    expect((kept.signal.reason as Error).message).toBe('shutdown');
  });
});

describe('onAbort', () => {
  it('calls every listener still subscribed, once, even after one throws', async () => {
    const source = new AbortController();
    const calls: string[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      onAbort(source.signal, () => calls.push('first'));
      onAbort(source.signal, () => {
        throw new Error('listener failed');
      });
      const stop = onAbort(source.signal, () => calls.push('stopped'));
      onAbort(source.signal, () => calls.push('last'));
      stop();
      source.abort();
      source.abort();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(calls).toEqual(['first', 'last']);
    expect((uncaught[0] as Error).message).toBe('listener failed');
  });
});
