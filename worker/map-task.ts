/**
 * The map side of a task as a pure function: items in, combined and partitioned
 * [key, value] pairs out. The BullMQ adapter and the local runner both call it.
 */
import { CallTimeoutError, MapOutputError } from '../shared/errors.js';
import { validateInputItem } from '../shared/input-schema.js';
import type { Job, MapContext } from '../shared/job-definition.js';
import { findJsonProblem, previewItem } from '../shared/json-values.js';
import { KeyGroups } from '../shared/key-groups.js';
import { partitionOf } from '../shared/partition.js';
import { formatDuration } from '../shared/durations.js';

import type { CallGate } from '../shared/limiter.js';

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
  /** Context for the call on `items[index]`, given that call's own signal. */
  context(index: number, signal: AbortSignal): MapContext;
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
    const [key, value] = checkPair(job, pair, items[index]);
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

  return { partitions: partitionGroups(job, groups, options.partitions), emitted };
}

async function mapOneItem(options: MapItemsOptions, index: number, sink: (pair: unknown) => void): Promise<void> {
  const { job } = options;
  try {
    const item = await validateInputItem(job.name, job.input, options.items[index], index);
    // The task's first calls may be handed back to the queue when the run is full (the gate throws).
    const release = options.gate ? await options.gate(options.signal, { firstOfTask: index < job.itemConcurrency }) : undefined;
    const place = await options.invoke?.acquire(options.signal);
    options.onCall?.started();
    try {
      await callWithTimeout(options, index, (signal) => {
        const context = options.context(index, signal);
        return consumeMapOutput(place ? place.call(item, context) : job.map(item, context), sink);
      });
    } finally {
      options.onCall?.ended();
      place?.release();
      release?.();
    }
  } catch (error) {
    throw error instanceof ItemFailure ? error : new ItemFailure(index, error);
  }
}

/** Runs one call with its own signal; the timeout starts once the call holds its slot. */
async function callWithTimeout(options: MapItemsOptions, index: number, call: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const abort = (): void => controller.abort(options.signal.reason);
  if (options.signal.aborted) abort();
  else options.signal.addEventListener('abort', abort, { once: true });
  const timer = setTimeout(() => {
    const item = previewItem(options.items[index]);
    controller.abort(
      new CallTimeoutError(`map call on item ${item} ran past its call timeout of ${formatDuration(options.callTimeoutMs)}`),
    );
  }, options.callTimeoutMs);
  try {
    controller.signal.throwIfAborted();
    const running = call(controller.signal);
    const aborted = rejectOnAbort(controller.signal);
    // Whichever loses the race must not surface later as an unhandled rejection.
    running.catch(() => {});
    aborted.catch(() => {});
    await Promise.race([running, aborted]);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', abort);
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

async function consumeMapOutput(output: unknown, sink: (pair: unknown) => void): Promise<void> {
  const resolved = isPromiseLike(output) ? ((await output) as unknown) : output;
  if (resolved !== null && typeof resolved === 'object') {
    if (Symbol.asyncIterator in resolved) {
      for await (const pair of resolved as AsyncIterable<unknown>) sink(pair);
      return;
    }
    if (Symbol.iterator in resolved) {
      for (const pair of resolved as Iterable<unknown>) sink(pair);
      return;
    }
  }
  throw new MapOutputError(
    `map returned ${previewItem(resolved)}; it must return an array or iterable of [key, value] pairs, or be a generator`,
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function checkPair(job: Job, pair: unknown, item: unknown): [string, unknown] {
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw new MapOutputError(
      `job "${job.name}": map emitted ${previewItem(pair)} for input item ${previewItem(item)}; expected a [key, value] pair`,
    );
  }
  const [key, value] = pair as [unknown, unknown];
  if (typeof key !== 'string') {
    throw new MapOutputError(
      `job "${job.name}": map emitted a key that is not a string (${typeof key} ${previewItem(key)}) for input item ${previewItem(item)}`,
    );
  }
  const problem = findJsonProblem(value);
  if (problem) {
    throw new MapOutputError(
      `job "${job.name}": the value for key ${JSON.stringify(key)} from input item ${previewItem(item)} cannot be stored: ${problem}`,
    );
  }
  return [key, value];
}

function partitionGroups(job: Job, groups: KeyGroups, partitions: number): Array<Array<[string, unknown]>> {
  const byPartition: Array<Array<[string, unknown]>> = Array.from({ length: partitions }, () => []);
  for (const [key, value] of groups.pairs()) {
    if (job.combine) {
      const problem = findJsonProblem(value);
      if (problem) {
        throw new MapOutputError(
          `job "${job.name}": combine returned a value for key ${JSON.stringify(key)} that cannot be stored: ${problem}`,
        );
      }
    }
    byPartition[partitionOf(key, partitions)]!.push([key, value]);
  }
  return byPartition;
}
