/**
 * What the dashboard's page asks for and what it may do, as plain functions over Redis:
 * the list of runs, one run's view (the same view as `status --watch`, plus which
 * partitions are reduced and the samples of its charts), its failed items, and cancel,
 * retry and throttle. The HTTP side is dashboard-server.ts.
 */
import { z } from 'zod';
import { parseRate, RATE_HINT } from '../../shared/data/durations.js';
import { UsageError } from '../../shared/errors.js';
import { previewItem } from '../../shared/data/json-values.js';
import type { RedisClient } from '../../shared/redis/redis-connection.js';
import { runKeys } from '../../shared/redis/redis-keys.js';
import { cancelRun, retryRun } from '../../shared/run/run-control.js';
import { listFailures } from '../../shared/run/run-failures.js';
import { readRunSnapshot, type RunSnapshot } from '../../shared/run/run-record.js';
import { RETRYABLE_STATES, TERMINAL_STATES, type RunState } from '../../shared/run/run-state.js';
import { listRuns } from '../../shared/run/runs-index.js';
import { RUN_OPTION_FIELDS } from '../../shared/run/run-options.js';
import type { TaskQueues } from '../../shared/tasks/task-queue.js';
import { throttleRun, type LimitChange } from '../../shared/run/throttle.js';
import { RateMeter } from '../run-pace.js';
import { readRunView, type RunView } from '../run-view.js';
import { ProgressHistory, type ProgressSample } from './progress-history.js';

export interface DashboardDeps {
  client: RedisClient;
  queues: TaskQueues;
  prefix: string;
}

const RUNS_LISTED = 50;
const FAILURES_SHOWN = 100;

export interface RunRow {
  id: string;
  job: string;
  state: RunState;
  createdAt: number;
  finishedAt: number | null;
  /** What the progress bar counts: map tasks settled, then partitions reduced. */
  progress: { done: number; total: number | null; unit: 'tasks' | 'partitions' };
  items: { done: number; total: number | null };
}

export interface RunPage extends RunView {
  reducedPartitions: number[];
  history: ProgressSample[];
  actions: { cancel: boolean; retry: boolean; throttle: boolean };
}

export class DashboardApi {
  private readonly history = new ProgressHistory();
  private readonly meters = new Map<string, RateMeter>();

  constructor(private readonly deps: DashboardDeps) {}

  /** The newest runs first, each with one O(1) snapshot. */
  async runs(): Promise<RunRow[]> {
    const { client, prefix } = this.deps;
    const records = await listRuns(client, prefix, { limit: RUNS_LISTED });
    const snapshots = await Promise.all(records.map((record) => readRunSnapshot(client, prefix, record.id)));
    return snapshots.filter((snapshot): snapshot is RunSnapshot => snapshot !== undefined).map((snapshot) => this.row(snapshot));
  }

  async run(runId: string): Promise<RunPage | undefined> {
    const { client, prefix } = this.deps;
    const view = await readRunView(client, prefix, runId, this.meterFor(runId));
    if (!view) return undefined;
    const reduced = await client.smembers(runKeys(prefix, runId).reduced(view.generation));
    const settled = view.tasks.committed + view.tasks.failed;
    this.history.record(runId, { at: Date.now(), items: view.items.done, tasks: settled });
    const ended = TERMINAL_STATES.has(view.state);
    return {
      ...view,
      reducedPartitions: reduced.map(Number).sort((a, b) => a - b),
      history: this.history.of(runId, {
        createdAt: Date.parse(view.createdAt),
        finishedAt: view.finishedAt === null ? undefined : Date.parse(view.finishedAt),
        items: view.items.done,
        tasks: settled,
      }),
      actions: { cancel: !ended, retry: RETRYABLE_STATES.has(view.state), throttle: !ended },
    };
  }

  /** The first failed items of the run's current generation, with their input shown short. */
  async failures(runId: string) {
    const reports = await listFailures(this.deps.client, this.deps.prefix, runId, FAILURES_SHOWN);
    return reports.map((report) => ({
      task: report.task,
      input: report.items.length === 1 ? previewItem(report.items[0]) : report.itemsPreview,
      error: report.error,
      code: report.code,
      attempts: report.attempts,
      stalls: report.stalls,
      worker: `${report.host} pid ${report.pid}`,
      at: report.at,
    }));
  }

  async cancel(runId: string): Promise<string> {
    const was = await cancelRun(this.deps.client, this.deps.prefix, runId, this.deps.queues);
    return `run ${runId} cancelled (it was ${was})`;
  }

  async retry(runId: string): Promise<string> {
    const generation = await retryRun(this.deps.client, this.deps.queues, this.deps.prefix, runId);
    return `run ${runId} is mapping again (generation ${generation})`;
  }

  async throttle(runId: string, body: unknown): Promise<string> {
    const change = parseLimitChange(body);
    await throttleRun(this.deps.client, this.deps.prefix, runId, change);
    return `run ${runId}: limits changed; workers apply them from their next map call`;
  }

  private row(snapshot: RunSnapshot): RunRow {
    const reducing = snapshot.state === 'reducing' || snapshot.state === 'done';
    return {
      id: snapshot.id,
      job: snapshot.job,
      state: snapshot.state,
      createdAt: snapshot.createdAt,
      finishedAt: snapshot.finishedAt ?? null,
      progress: reducing
        ? { done: snapshot.reducedPartitions, total: snapshot.options.partitions, unit: 'partitions' }
        : {
            done: snapshot.committedTasks + snapshot.failedTasks,
            total: snapshot.sealed ? snapshot.totalTasks : null,
            unit: 'tasks',
          },
      items: { done: snapshot.itemsDone, total: snapshot.items ?? null },
    };
  }

  private meterFor(runId: string): RateMeter {
    let meter = this.meters.get(runId);
    if (!meter) {
      if (this.meters.size >= 200) this.meters.delete(this.meters.keys().next().value!);
      meter = new RateMeter();
      this.meters.set(runId, meter);
    }
    return meter;
  }
}

/** A new limit, "none" to remove one, or absent to keep it; the page sends what the form holds. */
const limitChangeSchema = z
  .object({
    concurrency: z.union([RUN_OPTION_FIELDS.concurrency, z.literal('none')]).optional(),
    rate: z.string().max(32).optional(),
  })
  .strict();

export function parseLimitChange(body: unknown): LimitChange {
  const parsed = limitChangeSchema.safeParse(body);
  if (!parsed.success) throw new UsageError(`limits: expected {concurrency?: a whole number or "none", rate?: ${RATE_HINT} or "none"}`);
  const change: LimitChange = {};
  const { concurrency, rate } = parsed.data;
  if (concurrency !== undefined) change.concurrency = concurrency === 'none' ? null : concurrency;
  if (rate !== undefined) {
    const parsedRate = rate === 'none' ? null : parseRate(rate);
    if (parsedRate === undefined || (parsedRate !== null && parsedRate.count <= 0)) {
      throw new UsageError(`limits: rate: expected ${RATE_HINT}, above zero, or none, got ${JSON.stringify(rate)}`);
    }
    change.rate = parsedRate;
  }
  if (Object.keys(change).length === 0) throw new UsageError('limits: nothing to change');
  return change;
}
