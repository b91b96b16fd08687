import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../shared/logger.js';
import { startWedgeCheck, type WedgeCheckProbes } from '../../runtime/wedge-check.js';

const timings = { checkEveryMs: 100, idleAfterMs: 1000 };

function probes(state: { room: boolean; waiting: number; takenAt: number }, rebuilt: { count: number }): WedgeCheckProbes {
  return {
    lastTakenAt: () => state.takenAt,
    hasRoom: () => state.room,
    tasksWaiting: () => Promise.resolve(state.waiting),
    rebuild: () => {
      rebuilt.count++;
      state.takenAt = Date.now();
      return Promise.resolve();
    },
  };
}

describe('startWedgeCheck', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('rebuilds a worker with room that took nothing for idleAfterMs while tasks wait, once per idle period', async () => {
    const rebuilt = { count: 0 };
    const check = startWedgeCheck(probes({ room: true, waiting: 5, takenAt: Date.now() }, rebuilt), timings, silentLogger());
    await vi.advanceTimersByTimeAsync(900);
    expect(rebuilt.count).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(rebuilt.count).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(check.rebuilds).toBe(1);
    check.stop();
  });

  it('leaves alone a worker that is full, or whose queue has nothing waiting', async () => {
    const rebuilt = { count: 0 };
    const full = startWedgeCheck(probes({ room: false, waiting: 5, takenAt: Date.now() }, rebuilt), timings, silentLogger());
    const idle = startWedgeCheck(probes({ room: true, waiting: 0, takenAt: Date.now() }, rebuilt), timings, silentLogger());
    await vi.advanceTimersByTimeAsync(5000);
    expect(rebuilt.count).toBe(0);
    full.stop();
    idle.stop();
  });
});
