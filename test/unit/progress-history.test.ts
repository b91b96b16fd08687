import { describe, expect, it } from 'vitest';
import { ProgressHistory } from '../../cli/dashboard/progress-history.js';

const run = { createdAt: 1000, finishedAt: undefined, items: 0, tasks: 0 };

describe("the dashboard's history of a run", () => {
  it('starts at the creation with nothing done, then what it saw', () => {
    const history = new ProgressHistory();
    history.record('r', { at: 5000, items: 40, tasks: 4 });
    expect(history.of('r', run)).toEqual([
      { at: 1000, items: 0, tasks: 0 },
      { at: 5000, items: 40, tasks: 4 },
    ]);
  });

  it('ends at the finish of an ended run, dropping samples taken after it', () => {
    const history = new ProgressHistory();
    history.record('r', { at: 5000, items: 40, tasks: 4 });
    history.record('r', { at: 9000, items: 100, tasks: 10 });
    expect(history.of('r', { ...run, finishedAt: 8000, items: 100, tasks: 10 })).toEqual([
      { at: 1000, items: 0, tasks: 0 },
      { at: 5000, items: 40, tasks: 4 },
      { at: 8000, items: 100, tasks: 10 },
    ]);
  });

  it('keeps a stretch where nothing moved as its first and last sample', () => {
    const history = new ProgressHistory();
    for (let at = 2000; at <= 9000; at += 1000) history.record('r', { at, items: 7, tasks: 1 });
    expect(history.of('r', run).map((sample) => sample.at)).toEqual([1000, 2000, 9000]);
  });

  it('thins a long history evenly, keeping the oldest and the newest sample', () => {
    const history = new ProgressHistory();
    for (let i = 1; i <= 2000; i++) history.record('r', { at: 1000 + i * 1000, items: i, tasks: i });
    const samples = history.of('r', run);
    expect(samples.length).toBeLessThanOrEqual(721);
    expect(samples[1]!.items).toBe(1);
    expect(samples[samples.length - 1]!.items).toBe(2000);
    expect(samples.every((sample, i) => i === 0 || sample.at > samples[i - 1]!.at)).toBe(true);
  });
});
