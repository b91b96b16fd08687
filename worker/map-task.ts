/**
 * The map side of a task as a pure function: items in, combined and partitioned
 * [key, value] pairs out. The BullMQ adapter and the local runner both call it.
 */
import { CallTimeoutError, MapOutputError, type TaskErrorOptions } from '../shared/errors.js';
import { parseInputItem } from '../shared/job/input-schema.js';
import type { Job, MapContext, TaskLogger } from '../shared/job/job-definition.js';
import { findJsonProblem, previewItem } from '../shared/data/json-values.js';
import { KeyGroups } from '../shared/data/key-groups.js';
import { partitionOf } from './partition.js';
import { formatDuration } from '../shared/data/durations.js';
import type { CallGate } from './limits/limiter.js';
import { itemTaskId } from '../shared/redis/redis-keys.js';

export type { CallGate };

/**
 * Somewhere else map calls can run (a worker thread, a child process). A call first takes
 * a ready place (not counted in its timeout: starting a thread or process is not the
 * call's time), then runs there; aborting the context's signal must stop the call, even
 * one that never yields.
 */
export interface MapInvoker {
  acquire(signal: AbortSignal): Promise<MapCallPlace>;
}

export interface MapCallPlace {
  call(item: unknown, context: MapContext): Promise<unknown>;
  /** Hands the place back once the call is over (it may be reused, or was discarded). */
  release(): void;
}

export interface MapItemsOptions {
  job: Job;
  items: readonly unknown[];
  partitions: number;
  callTimeoutMs: number;
  /** Aborts every call of the task (run cancelled, worker shutting down). */
  signal: AbortSignal;
  /** What each call's context names. A call on one item of a chunk reports the item's own task id. */
  runId: string;
  taskId: string;
  attempt: number;
  /** The logger a call gets as `ctx.log`; asked for only when the map uses it. */
  logFor(index: number): TaskLogger;
  gate?: CallGate;
  /** Where map calls run; by default in this thread. */
  invoke?: MapInvoker;
  /** Told when each call starts and ends (for metrics). */
  onCall?: { started(): void; ended(): void };
}

/** Combined output of one task: for each partition, its [key, value] pairs. */
export interface MapTaskOutput {
  partitions: Array<Array<[string, unknown]>>;
  /** Pairs emitted by map before combining. */
  emitted: number;
}

/** An item whose map call failed; `index` is its position in the task. */
export class ItemFailure extends Error {
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export async function mapItems(options: MapItemsOptions): Promise<MapTaskOutput> {
  const { job, items } = options;
  const groups = new KeyGroups(job.combine as ((a: unknown, b: unknown) => unknown) | undefined);
  let emitted = 0;
  const sinkFor = (index: number, target: KeyGroups | Array<[string, unknown]>) => (pair: unknown) => {
    const [key, value] = checkPair(options, index, pair);
    emitted++;
    if (Array.isArray(target)) target.push([key, value]);
    else target.add(key, value);
  };

  if (job.itemConcurrency <= 1 || items.length <= 1) {
    for (let index = 0; index < items.length; index++) {
      await mapOneItem(options, index, sinkFor(index, groups));
    }
  } else {
    // Items run concurrently, but their output is folded in item order so results stay deterministic.
    const outputs: Array<Array<[string, unknown]>> = items.map(() => []);
    let next = 0;
    let failed = false;
    const lane = async (): Promise<void> => {
      // Once an item failed the task fails: start nothing more behind its back.
      while (next < items.length && !failed) {
        const index = next++;
        try {
          await mapOneItem(options, index, sinkFor(index, outputs[index]!));
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(job.itemConcurrency, items.length) }, lane));
    for (const output of outputs) for (const [key, value] of output) groups.add(key, value);
  }

  return { partitions: partitionGroups(options, groups), emitted };
}

async function mapOneItem(options: MapItemsOptions, index: number, sink: (pair: unknown) => void): Promise<void> {
  const { job } = options;
  try {
    const parsed = parseInputItem(job.name, job.input, options.items[index], index);
    const item = parsed instanceof Promise ? await parsed : parsed;
    // The task's first calls may be handed back to the queue when the run is full (the gate throws).
    const release = options.gate ? await options.gate(options.signal, { firstOfTask: index < job.itemConcurrency }) : undefined;
    // From here on the slot is held: whatever fails (no isolate to be had, a cancel), it goes back.
    try {
      const place = options.invoke ? await options.invoke.acquire(options.signal) : undefined;
      options.onCall?.started();
      // The timeout starts here, once the call holds its slot and its place.
      const call = new CallSignal(options.signal, options.callTimeoutMs, () => callTimeoutError(options, index));
      try {
        options.signal.throwIfAborted();
        const context = callContext(options, index, call);
        const consumed = consumeMapOutput(place ? place.call(item, context) : job.map(item, context), sink, () => ({
          ...whereInTask(options),
          item: index,
        }));
        // Only an asynchronous call can be waited on; racing it against its signal ends the
        // wait on timeout or cancel even when the map ignores ctx.signal.
        if (consumed) await raceAbort(consumed, call.signal);
      } finally {
        call.dispose();
        options.onCall?.ended();
        place?.release();
      }
    } finally {
      release?.();
    }
  } catch (error) {
    throw error instanceof ItemFailure ? error : new ItemFailure(index, error);
  }
}

/**
 * A call's own signal, made on first use. Most maps never read `ctx.signal`, and a call
 * that returns synchronously cannot be interrupted anyway, so such calls cost no
 * AbortController, listener or timer: at thousands of calls a second they add up.
 */
class CallSignal {
  private controller: AbortController | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly task: AbortSignal,
    private readonly timeoutMs: number,
    private readonly timeoutError: () => Error,
  ) {}

  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = (this.controller = new AbortController());
    if (this.task.aborted) {
      controller.abort(this.task.reason);
      return controller.signal;
    }
    this.task.addEventListener('abort', this.onTaskAbort, { once: true });
    const left = this.timeoutMs - (performance.now() - this.startedAt);
    if (left <= 0) controller.abort(this.timeoutError());
    else this.timer = setTimeout(() => controller.abort(this.timeoutError()), left);
    return controller.signal;
  }

  dispose(): void {
    if (!this.controller) return;
    clearTimeout(this.timer);
    this.task.removeEventListener('abort', this.onTaskAbort);
  }

  private readonly onTaskAbort = (): void => this.controller?.abort(this.task.reason);
}

/** The context of one call; its signal, log and item task id are made only if the map reads them. */
function callContext(options: MapItemsOptions, index: number, call: CallSignal): MapContext {
  let log: TaskLogger | undefined;
  return {
    runId: options.runId,
    attempt: options.attempt,
    get taskId() {
      return options.items.length > 1 ? itemTaskId(options.taskId, index) : options.taskId;
    },
    get signal() {
      return call.signal;
    },
    get log() {
      return (log ??= options.logFor(index));
    },
  };
}

function callTimeoutError(options: MapItemsOptions, index: number): CallTimeoutError {
  const item = previewItem(options.items[index]);
  return new CallTimeoutError(`map call on item ${item} ran past its call timeout of ${formatDuration(options.callTimeoutMs)}`, {
    ...whereInTask(options),
    item: index,
  });
}

/** The run, task and attempt an error of this task names. */
function whereInTask(options: MapItemsOptions): TaskErrorOptions {
  return { runId: options.runId, taskId: options.taskId, attempt: options.attempt };
}

async function raceAbort(running: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  // Whichever loses the race must not surface later as an unhandled rejection.
  running.catch(() => {});
  aborted.catch(() => {});
  try {
    await Promise.race([running, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/** Feeds a call's output to `sink`; returns a promise only when the output is asynchronous. */
function consumeMapOutput(output: unknown, sink: (pair: unknown) => void, where: () => TaskErrorOptions): Promise<void> | undefined {
  if (isPromiseLike(output)) return Promise.resolve(output).then((resolved) => consumeMapOutput(resolved, sink, where));
  if (output !== null && typeof output === 'object') {
    if (Symbol.asyncIterator in output) return drainAsync(output as AsyncIterable<unknown>, sink);
    if (Symbol.iterator in output) {
      for (const pair of output as Iterable<unknown>) sink(pair);
      return undefined;
    }
  }
  throw new MapOutputError(
    `map returned ${previewItem(output)}; it must return an array or iterable of [key, value] pairs, or be a generator`,
    where(),
  );
}

async function drainAsync(output: AsyncIterable<unknown>, sink: (pair: unknown) => void): Promise<void> {
  for await (const pair of output) sink(pair);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function checkPair(options: MapItemsOptions, index: number, pair: unknown): [string, unknown] {
  const { job } = options;
  const item = options.items[index];
  const where = (): TaskErrorOptions => ({ ...whereInTask(options), item: index });
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw new MapOutputError(
      `job "${job.name}": map emitted ${previewItem(pair)} for input item ${previewItem(item)}; expected a [key, value] pair`,
      where(),
    );
  }
  const [key, value] = pair as [unknown, unknown];
  if (typeof key !== 'string') {
    throw new MapOutputError(
      `job "${job.name}": map emitted a key that is not a string (${typeof key} ${previewItem(key)}) for input item ${previewItem(item)}`,
      where(),
    );
  }
  const problem = findJsonProblem(value);
  if (problem) {
    throw new MapOutputError(
      `job "${job.name}": the value for key ${JSON.stringify(key)} from input item ${previewItem(item)} cannot be stored: ${problem}`,
      where(),
    );
  }
  return [key, value];
}

function partitionGroups(options: MapItemsOptions, groups: KeyGroups): Array<Array<[string, unknown]>> {
  const { job, partitions } = options;
  const byPartition: Array<Array<[string, unknown]>> = Array.from({ length: partitions }, () => []);
  for (const [key, value] of groups.pairs()) {
    if (job.combine) {
      const problem = findJsonProblem(value);
      if (problem) {
        throw new MapOutputError(
          `job "${job.name}": combine returned a value for key ${JSON.stringify(key)} that cannot be stored: ${problem}`,
          whereInTask(options),
        );
      }
    }
    byPartition[partitionOf(key, partitions)]!.push([key, value]);
  }
  return byPartition;
}
