import { describe, expect, it } from 'vitest';
import { onAbort, sharedCombination } from '../../shared/tasks/abort-signals.js';

describe('sharedCombination', () => {
  it('aborts with the reason of whichever source aborts first', () => {
    const first = new AbortController();
    const second = new AbortController();
    const combined = sharedCombination(first.signal, second.signal);
    expect(combined.aborted).toBe(false);
    second.abort(new Error('second'));
    first.abort(new Error('first'));
    expect((combined.reason as Error).message).toBe('second');
  });

  it('is already aborted when a source is', () => {
    const aborted = AbortSignal.abort(new Error('gone'));
    expect((sharedCombination(new AbortController().signal, aborted).reason as Error).message).toBe('gone');
  });

  it('is made once per pair and shared by every task that asks for it', () => {
    const shutdown = new AbortController().signal;
    const run = new AbortController().signal;
    const other = new AbortController().signal;
    expect(sharedCombination(run, shutdown)).toBe(sharedCombination(run, shutdown));
    expect(sharedCombination(other, shutdown)).not.toBe(sharedCombination(run, shutdown));
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
