/**
 * Fault injection for the fault tests, from REDMAP_FAILPOINTS, e.g.
 * "after-map-commit=c3,after-flip,before-reduce-commit=0~3000": a point alone (or with
 * `=DETAIL`, a task or partition) makes the worker kill itself (SIGKILL, as a crash would)
 * when it passes there; `~MS` pauses it there for MS milliseconds instead, so a test can
 * act on Redis in that window (delete staged output, say); `!` throws an error there, as a
 * step that fails outside the job's code would.
 *
 * The published build compiles this variable to "" (build.mjs), so no installed copy can
 * act on it; run from source (the tests), an unset variable costs one Set lookup a point.
 *
 * Points: `after-map-commit[=TASK]` right after a map task's first commit, before BullMQ
 * marks the task done; `after-flip` right after a commit ended the map phase, before the
 * reduce tasks are enqueued; `before-map-commit[=TASK]` once the output is staged, before
 * the commit; `before-reduce-commit[=PARTITION]` once a partition's result is staged.
 * `inside-sink-transaction[=PARTITION]` once a partition's rows and markers are in the
 * PostgreSQL sink's transaction, before its COMMIT; `after-sink-commit[=PARTITION]` right after
 * that COMMIT, before the partition's Redis commit.
 * `writing-output` once `--output`'s temporary file exists, before results are written to it.
 * `wedge-worker` (read with failpointSet) makes a worker's first BullMQ worker stop fetching
 * after its first task, as one wedged by a Redis failover would.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const points = new Map<string, 'kill' | 'throw' | number>(
  (process.env.REDMAP_FAILPOINTS ?? '')
    .split(',')
    .map((point) => point.trim())
    .filter(Boolean)
    .map((point) => {
      if (point.endsWith('!')) return [point.slice(0, -1), 'throw'] as const;
      const [name = '', pause] = point.split('~');
      return [name, pause === undefined ? 'kill' : Number(pause)] as const;
    }),
);

/** Kills, pauses or fails when the point (or the point for this detail) is set; else does nothing. */
export async function failpoint(name: string, detail?: string | number): Promise<void> {
  if (points.size === 0) return;
  const key = points.has(name) ? name : `${name}=${detail}`;
  const action = points.get(key);
  if (action === undefined) return;
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  else if (action === 'throw') throw new Error(`failpoint ${key}`);
  else await sleep(action);
}

/** True when the point is set: for points that change what the code does rather than kill, pause or throw. */
export function failpointSet(name: string): boolean {
  return points.has(name);
}
