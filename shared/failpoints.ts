/**
 * Fault injection for the fault tests, from REDMAP_FAILPOINTS, e.g.
 * "after-map-commit=c3,after-flip,before-reduce-commit=0~3000": a point alone (or with
 * `=DETAIL`, a task or partition) makes the worker kill itself (SIGKILL, as a crash would)
 * when it passes there; `~MS` pauses it there for MS milliseconds instead, so a test can
 * act on Redis in that window (delete staged output, say).
 *
 * The published build compiles this variable to "" (build.mjs), so no installed copy can
 * act on it; run from source (the tests), an unset variable costs one Set lookup a point.
 *
 * Points: `after-map-commit[=TASK]` right after a map task's first commit, before BullMQ
 * marks the task done; `after-flip` right after a commit ended the map phase, before the
 * reduce tasks are enqueued; `before-map-commit[=TASK]` once the output is staged, before
 * the commit; `before-reduce-commit[=PARTITION]` once a partition's result is staged.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const points = new Map(
  (process.env.REDMAP_FAILPOINTS ?? '')
    .split(',')
    .map((point) => point.trim())
    .filter(Boolean)
    .map((point) => {
      const [name = '', pause] = point.split('~');
      return [name, pause === undefined ? undefined : Number(pause)] as const;
    }),
);

/** Kills or pauses the process when the point (or the point for this detail) is set; else does nothing. */
export async function failpoint(name: string, detail?: string | number): Promise<void> {
  if (points.size === 0) return;
  const key = points.has(name) ? name : `${name}=${detail}`;
  if (!points.has(key)) return;
  const pauseMs = points.get(key);
  if (pauseMs === undefined) process.kill(process.pid, 'SIGKILL');
  else await sleep(pauseMs);
}
