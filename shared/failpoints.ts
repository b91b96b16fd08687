/**
 * Fault injection for the fault tests: REDMAP_FAILPOINTS="after-map-commit=c3,after-flip"
 * makes a worker kill itself (SIGKILL, as a crash would) when it passes those points.
 * Unset, which is always the case outside tests, a check costs one Set lookup.
 *
 * Points: `after-map-commit[=TASK]` right after a map task's first commit, before BullMQ
 * marks the task done; `after-flip` right after a commit ended the map phase, before the
 * reduce tasks are enqueued.
 */
const active = new Set(
  (process.env.REDMAP_FAILPOINTS ?? '')
    .split(',')
    .map((point) => point.trim())
    .filter(Boolean),
);

export function failpoint(name: string, detail?: string): void {
  if (active.size === 0) return;
  if (active.has(name) || (detail !== undefined && active.has(`${name}=${detail}`))) {
    process.kill(process.pid, 'SIGKILL');
  }
}
