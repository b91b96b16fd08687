/**
 * What a worker may take on trust between reads of a run's state: a run found mapping stays
 * so until a cancel message for it, and nothing is trusted while messages may be missed.
 */
import { describe, expect, it } from 'vitest';
import { MappingRuns } from '../../runtime/control-subscription.js';

function subscribed(): MappingRuns {
  const watch = new MappingRuns();
  watch.up(watch.down());
  return watch;
}

describe('the runs a worker takes to be mapping', () => {
  it('trusts a run found mapping, for that incarnation and generation only', () => {
    const watch = subscribed();
    watch.trust('r1', 'inc-a', 1, watch.beforeRead());
    expect(watch.trusts('r1', 'inc-a', 1)).toBe(true);
    expect(watch.trusts('r1', 'inc-a', 2)).toBe(false);
    expect(watch.trusts('r1', 'inc-b', 1)).toBe(false);
    expect(watch.trusts('r2', 'inc-a', 1)).toBe(false);
  });

  it('stops trusting a run once a cancel message for it arrives, or a commit finds it moved on', () => {
    const watch = subscribed();
    watch.trust('r1', 'inc', 1, watch.beforeRead());
    watch.trust('r2', 'inc', 1, watch.beforeRead());
    watch.cancelled('r1');
    expect(watch.trusts('r1', 'inc', 1)).toBe(false);
    expect(watch.trusts('r2', 'inc', 1)).toBe(true);
    watch.forget('r2');
    expect(watch.trusts('r2', 'inc', 1)).toBe(false);
  });

  it('does not take a read that a cancel message crossed: its answer may predate the cancel', () => {
    const watch = subscribed();
    const mark = watch.beforeRead();
    watch.cancelled('r1');
    watch.trust('r1', 'inc', 1, mark);
    expect(watch.trusts('r1', 'inc', 1)).toBe(false);
  });

  it('trusts nothing while the subscription is down, nor a read begun before it came back', () => {
    const watch = subscribed();
    watch.trust('r1', 'inc', 1, watch.beforeRead());
    const before = watch.beforeRead();
    const mark = watch.down();
    expect(watch.trusts('r1', 'inc', 1)).toBe(false);
    expect(watch.beforeRead()).toBeUndefined();
    watch.trust('r1', 'inc', 1, watch.beforeRead());
    expect(watch.trusts('r1', 'inc', 1)).toBe(false);
    watch.up(mark);
    watch.trust('r1', 'inc', 1, before);
    expect(watch.trusts('r1', 'inc', 1)).toBe(false);
    watch.trust('r1', 'inc', 1, watch.beforeRead());
    expect(watch.trusts('r1', 'inc', 1)).toBe(true);
  });

  it('stays down when the connection dropped again before the subscription was confirmed', () => {
    const watch = new MappingRuns();
    const first = watch.down();
    watch.down();
    watch.up(first);
    expect(watch.beforeRead()).toBeUndefined();
  });
});
