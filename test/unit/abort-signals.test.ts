import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { combineSignals } from '../../shared/tasks/abort-signals.js';

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

  it('leaves no listener on its sources once disposed', () => {
    const longLived = new AbortController();
    for (let i = 0; i < 100; i++) combineSignals(longLived.signal, new AbortController().signal).dispose();
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
  });
});
