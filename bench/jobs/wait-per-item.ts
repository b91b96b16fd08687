// An I/O-bound map: each call waits a fixed time (a database or HTTP call standing in), then
// counts its item once under the item itself, so the output shows any item lost or counted
// twice. What sets the pace is calls in flight ÷ call time, unless the engine does.
//
// Environment:
//   WAIT_PER_ITEM_MS         how long each map call waits, in ms (default 50)
//   WAIT_PER_ITEM_TIMES_DIR  if set, each worker process writes `<pid>.json` there as it exits:
//                            { first, last, calls }, the epoch ms its first call started and its
//                            last call ended (bench/io-bound.mjs takes start-up from it)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineJob, z } from 'redmap';

const waitMs = Number(process.env.WAIT_PER_ITEM_MS ?? 50);
if (!Number.isFinite(waitMs) || waitMs < 0)
  throw new Error(`WAIT_PER_ITEM_MS: expected a number of ms ≥ 0, got ${process.env.WAIT_PER_ITEM_MS}`);
const timesDir = process.env.WAIT_PER_ITEM_TIMES_DIR;
const times = { first: 0, last: 0, calls: 0 };
if (timesDir) process.once('exit', () => times.calls > 0 && writeFileSync(join(timesDir, `${process.pid}.json`), JSON.stringify(times)));

export default defineJob({
  name: 'bench-wait-per-item',
  input: z.string(),
  async map(item) {
    if (times.calls++ === 0) times.first = Date.now();
    await sleep(waitMs);
    times.last = Date.now();
    return [[item, 1]];
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});
