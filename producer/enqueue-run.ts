/**
 * Enqueueing a run (the producer's part of submitting it): write its record, validate and chunk its inputs, add map tasks in
 * batches while holding back above a high-water mark, then seal it with its total.
 * Re-submitting a run id left in `submitting` by a crash adds only what is missing.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../shared/errors.js';
import type { Job } from '../shared/job/job-definition.js';
import { loadLuaScript, replyStrings } from '../shared/redis/lua-scripts.js';
import { requireReplicas, type StepDurability } from '../shared/redis/confirmed-steps.js';
import { chunkTaskId, runKeys } from '../shared/redis/redis-keys.js';
import { failRun } from '../shared/run/run-control.js';
import type { RunState } from '../shared/run/run-state.js';
import { resolveRunOptions, SUBMIT_OPTION_FIELDS, type RunDefaults, type RunOptions } from '../shared/run/run-options.js';
import { addMapTasks } from '../shared/tasks/task-queue.js';
import { parseOption } from '../shared/data/validation.js';
import { autoChunkSize, chunkItems, isRereadable, openSource, peekItemCount, type InputSource } from './input-chunks.js';
import { inputValidator, splitInputs, type ItemValidator, type SplitHooks } from './split-files.js';
import { confirmedStep, createRun, endedState, sealRun, type ProducerDeps, type SubmitTarget } from './run-record-steps.js';

const enqueueTasksScript = loadLuaScript(new URL('./enqueue-tasks.lua', import.meta.url));

/**
 * Tasks and bytes of input per enqueue round trip. The first batch is small so workers start
 * at once; each next one is twice as large, up to BATCH_TASKS.
 */
const FIRST_BATCH_TASKS = 16;
const BATCH_TASKS = 500;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Longest a task waits in a batch for more tasks. */
const FLUSH_AFTER_MS = 200;
/** How often a producer holding back for workers says it is still there (an abandoned submit is told from a slow one). */
const PRODUCER_BEAT_MS = 10_000;

export interface SubmitOptions extends RunDefaults, SplitHooks {
  /** `[A-Za-z0-9_-]{1,64}`; re-submitting the id of an unsealed run resumes it. Default: generated. */
  runId?: string;
  partitions?: number;
  /** Waiting tasks in the job's queue above which submitting holds back. Default 5000. */
  highWaterMark?: number;
  /**
   * Map each input, a file path, as byte ranges of this size (`"64MiB"`, or bytes; at least
   * 64 KiB): each range an item that owns the lines starting in it. `.gz` files are not split.
   * Default: inputs are mapped as given.
   */
  split?: number | string;
  /** Called once when submitting starts to wait for workers, and again when it goes on. */
  onBackpressure?(waiting: boolean, queued: number, mark: number): void;
  /** Called once the run record exists, before any input is enqueued. */
  onCreated?(runId: string): void;
}

export interface SubmittedRun {
  runId: string;
  resumed: boolean;
  tasks: number;
  items: number;
  /**
   * Set when the run ended (failed or cancelled) before all its inputs were enqueued: the
   * producer stopped reading them, and the run's record says why it ended.
   */
  endedEarly?: RunState;
}

export function generateRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp.slice(0, 8)}-${stamp.slice(8)}-${randomBytes(4).toString('hex')}`;
}

export async function enqueueRun(
  deps: ProducerDeps,
  version: SubmitTarget,
  inputs: InputSource,
  options: SubmitOptions = {},
): Promise<SubmittedRun> {
  const { job } = version;
  const runId = options.runId === undefined ? generateRunId() : parseOption('runId', SUBMIT_OPTION_FIELDS.runId, options.runId);
  const highWaterMark = parseOption('highWaterMark', SUBMIT_OPTION_FIELDS.highWaterMark, options.highWaterMark);
  const validate = inputValidator(job, options.split !== undefined);
  const { runOptions, items: stream, validated } = await prepareInputs(job, splitInputs(inputs, options), options, validate);
  await requireReplicas(deps.client, runOptions.minReplicas);
  const created = await createRun(deps, version, runId, runOptions);
  options.onCreated?.(runId);

  const keys = runKeys(deps.prefix, runId);
  const durability: StepDurability = { minReplicas: created.options.minReplicas, runMeta: keys.meta };
  const target = {
    id: runId,
    incarnation: created.incarnation,
    fingerprint: version.fingerprint,
    queue: version.queue,
    options: created.options,
  };
  const enqueue = async (pairs: string[]): Promise<string[]> =>
    replyStrings(
      await confirmedStep(
        deps,
        'enqueueing a batch of tasks',
        durability,
        enqueueTasksScript,
        [keys.meta, keys.inputs, keys.committed, keys.failed, keys.split],
        [target.incarnation, ...pairs],
      ),
    );
  // A batch never exceeds the mark, so the queue holds at most about twice the mark.
  let batchTasks = Math.min(FIRST_BATCH_TASKS, highWaterMark);
  let batch: Array<[string, string]> = [];
  let batchBytes = 0;
  let tasks = 0;
  let items = 0;
  let waiting = false;

  let endedEarly: RunState | undefined;

  /** Enqueues the batch; false once the run has ended and takes no more inputs. */
  const flush = async (): Promise<boolean> => {
    if (batch.length === 0) return true;
    waiting = await holdBackAboveMark(deps, version.queue, highWaterMark, waiting, options, () => enqueue([]));
    const reply = await enqueue(batch.flat());
    if (reply[0] !== 'ok') {
      endedEarly = endedState(runId, reply[1]);
      return false;
    }
    const inputs = new Map(batch);
    const pending: string[] = [];
    const carried = new Set<string>();
    for (let i = 1; i < reply.length; i += 2) {
      pending.push(reply[i]!);
      if (reply[i + 1] === '1') carried.add(reply[i]!);
    }
    // Only inputs the run stores for the task may travel with it (a resumed submit may read others).
    await addMapTasks(deps.queues, target, 1, pending, (task) => (carried.has(task) ? inputs.get(task) : undefined));
    batch = [];
    batchBytes = 0;
    batchTasks = Math.min(batchTasks * 2, BATCH_TASKS, highWaterMark);
    return true;
  };

  try {
    // A slow source (a trickling stdin) must not hold tasks back: a batch waits at most FLUSH_AFTER_MS.
    const chunks = chunkItems(stream, created.chunkSize)[Symbol.asyncIterator]();
    // The next read starts while a batch is enqueued; a read error is thrown where it is
    // awaited, not reported meanwhile as an unhandled rejection.
    const read = (): ReturnType<typeof chunks.next> => {
      const reading = chunks.next();
      reading.catch(() => {});
      return reading;
    };
    let next = read();
    for (;;) {
      const step = batch.length === 0 ? await next : await Promise.race([next, sleep(FLUSH_AFTER_MS).then(() => 'flush' as const)]);
      if (step !== 'flush') {
        if (step.done) break;
        next = read();
        const chunk = step.value;
        if (!validated) {
          for (let i = 0; i < chunk.items.length; i++) await validate(chunk.items[i], chunk.firstItem + i);
        }
        const payload = JSON.stringify(chunk.items);
        batch.push([chunkTaskId(chunk.index), payload]);
        batchBytes += payload.length;
        tasks++;
        items += chunk.items.length;
        if (batch.length < batchTasks && batchBytes < BATCH_BYTES) continue;
      }
      if (!(await flush())) {
        // The run ended: stop reading, without waiting for a read of a one-shot stream (an
        // open stdin) that may never settle.
        chunks.return?.(undefined).catch(() => {});
        break;
      }
    }
    if (!endedEarly) await flush();
  } catch (error) {
    if (error instanceof InputError) {
      // Only a one-shot stream gets here after enqueueing; its run cannot complete.
      await failRun(deps.client, deps.prefix, target, undefined, error.message);
    }
    throw error;
  }
  if (waiting) options.onBackpressure?.(false, 0, highWaterMark);
  endedEarly ??= await sealRun(deps, target, tasks, items);
  return { runId, resumed: created.resumed, tasks, items, ...(endedEarly ? { endedEarly } : {}) };
}

/** Validates a re-readable source up front, and settles the chunk size. */
async function prepareInputs(
  job: Job,
  inputs: InputSource,
  options: SubmitOptions,
  validate: ItemValidator,
): Promise<{ runOptions: RunOptions; items: AsyncIterable<unknown>; validated: boolean }> {
  const runOptions = resolveRunOptions(job.defaults, options, job.partitions);
  if (isRereadable(inputs)) {
    let count = 0;
    for await (const item of openSource(inputs)) await validate(item, count++);
    const chunkSize = runOptions.chunkSize === 'auto' ? autoChunkSize(count) : runOptions.chunkSize;
    return { runOptions: { ...runOptions, chunkSize }, items: openSource(inputs), validated: true };
  }
  if (runOptions.chunkSize !== 'auto') return { runOptions, items: openSource(inputs), validated: false };
  const peeked = await peekItemCount(openSource(inputs));
  const chunkSize = peeked.complete ? autoChunkSize(peeked.countAtLeast) : autoChunkSize(Number.MAX_SAFE_INTEGER);
  return { runOptions: { ...runOptions, chunkSize }, items: peeked.stream, validated: false };
}

/**
 * Waits while the job's queue holds more waiting tasks than the mark; says so once. While
 * it waits, it tells the run it is still there (`beat`), and stops waiting once the run
 * has ended (the next enqueue then reports how).
 */
async function holdBackAboveMark(
  deps: ProducerDeps,
  queueName: string,
  mark: number,
  wasWaiting: boolean,
  options: SubmitOptions,
  beat: () => Promise<string[]>,
): Promise<boolean> {
  const queue = deps.queues.get(queueName);
  let waiting = wasWaiting;
  let beatAt = Date.now();
  for (;;) {
    const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed');
    const queued = (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
    if (queued < mark) return waiting;
    if (!waiting) options.onBackpressure?.(true, queued, mark);
    waiting = true;
    if (Date.now() - beatAt >= PRODUCER_BEAT_MS) {
      beatAt = Date.now();
      if ((await beat())[0] !== 'ok') return waiting;
    }
    await sleep(250);
  }
}
