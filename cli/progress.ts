/**
 * Progress on stderr while a run goes: a live bar on a terminal, a plain line every few
 * seconds otherwise, a pino line when logs are JSON. Rates are measured over the last
 * few seconds, so the ETA follows the run's current speed.
 */
import type { Logger } from '../shared/logger.js';
import type { RunSnapshot } from '../shared/run/run-record.js';
import { formatCount, formatDuration } from '../shared/data/formats.mjs';
import { etaMs, RateMeter } from './run-pace.js';

export type ProgressMode = 'bar' | 'lines' | 'json' | 'off';

export interface ProgressReporter {
  update(snapshot: RunSnapshot): void;
  /** Clears the bar (if any) so what follows starts on a clean line. */
  stop(): void;
}

const LINE_INTERVAL_MS = 5000;
const BAR_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

export function createProgressReporter(mode: ProgressMode, log: Logger, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  if (mode === 'off') return { update() {}, stop() {} };
  const meter = new RateMeter();
  let lastShown = 0;
  let barVisible = false;

  return {
    update(snapshot) {
      const now = Date.now();
      meter.add(now, snapshot.itemsDone);
      const interval = mode === 'bar' ? BAR_INTERVAL_MS : LINE_INTERVAL_MS;
      if (now - lastShown < interval) return;
      lastShown = now;
      const view = describe(snapshot, meter.perSecond());
      if (mode === 'json') {
        log.info({ runId: snapshot.id, state: snapshot.state, ...view.fields }, 'progress');
      } else if (mode === 'lines') {
        stream.write(`redmap: run ${snapshot.id} ${view.text}\n`);
      } else {
        // Clear the line, then draw the bar cut to the terminal's width so it never wraps.
        const width = (stream.columns || 120) - 1;
        stream.write(`\r\x1b[2K${`${view.bar} ${view.text}`.slice(0, width)}`);
        barVisible = true;
      }
    },
    stop() {
      if (barVisible) stream.write('\r\x1b[2K');
      barVisible = false;
    },
  };
}

function describe(snapshot: RunSnapshot, itemsPerSecond: number): { text: string; bar: string; fields: Record<string, unknown> } {
  const reducing = snapshot.state === 'reducing';
  const done = reducing ? snapshot.reducedPartitions : snapshot.committedTasks + snapshot.failedTasks;
  const total = reducing ? snapshot.options.partitions : snapshot.sealed ? snapshot.totalTasks : undefined;
  const fraction = total ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const unit = reducing ? 'partitions' : 'tasks';
  const parts = [`${snapshot.state}`, `${done}/${total ?? '?'} ${unit}${total ? ` (${Math.floor(fraction * 100)}%)` : ''}`];
  parts.push(`${formatCount(snapshot.itemsDone)} items`);
  if (itemsPerSecond > 0) parts.push(`${formatCount(itemsPerSecond)} items/s`);
  if (snapshot.failedTasks > 0) parts.push(`${snapshot.failedTasks} failed`);
  const eta = reducing ? undefined : etaMs(snapshot.items === undefined ? undefined : snapshot.items - snapshot.itemsDone, itemsPerSecond);
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  return {
    text: parts.join(' · '),
    bar,
    fields: {
      done,
      total: total ?? null,
      unit,
      items: snapshot.itemsDone,
      itemsPerSecond: Math.round(itemsPerSecond),
      failed: snapshot.failedTasks,
    },
  };
}
