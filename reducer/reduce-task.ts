/**
 * The reduce side of a task as a pure function: values grouped by key in, results out,
 * in key order. The BullMQ adapter and the local runner both call it.
 */
import { MapOutputError } from '../shared/errors.js';
import type { Job, ReduceContext } from '../shared/job/job-definition.js';
import { findJsonProblem } from '../shared/data/json-values.js';
import type { KeyGroups } from '../shared/data/key-groups.js';
import { sortUtf8 } from '../shared/data/key-order.js';

/** Calls `reduce` once per key, in UTF-8 byte order of the keys, yielding [key, result]. */
export async function* reduceGroups(job: Job, groups: KeyGroups, ctx: ReduceContext): AsyncGenerator<[string, unknown]> {
  const keys = sortUtf8(Array.from(groups.keys()));
  for (const key of keys) {
    ctx.signal.throwIfAborted();
    const values = groups.take(key);
    const result = await job.reduce(key, values, ctx);
    const problem = findJsonProblem(result, 'result');
    if (problem) {
      throw new MapOutputError(
        `job "${job.name}": reduce returned a result for key ${JSON.stringify(key)} that cannot be stored: ${problem}`,
        { runId: ctx.runId, taskId: ctx.taskId, attempt: ctx.attempt },
      );
    }
    yield [key, result];
  }
}
