import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InputError } from '../errors.js';
import { findJsonProblem, previewItem } from '../data/json-values.js';

/**
 * Checks one input item against JSON (items travel through Redis) and the job's schema,
 * returning the schema's output. Throws an InputError naming the item and its index.
 */
export async function validateInputItem<I>(
  jobName: string,
  schema: StandardSchemaV1<unknown, I>,
  item: unknown,
  index: number,
): Promise<I> {
  const problem = findJsonProblem(item, 'item');
  if (problem) {
    throw new InputError(index, `job "${jobName}": input item #${index} cannot be sent to workers: ${problem}`);
  }
  return parseInputItem(jobName, schema, item, index);
}

/**
 * The schema check alone, for items that came out of JSON already (a worker's). Synchronous
 * when the schema is, as most are: a map call should not wait a tick for it.
 */
export function parseInputItem<I>(jobName: string, schema: StandardSchemaV1<unknown, I>, item: unknown, index: number): I | Promise<I> {
  const result = schema['~standard'].validate(item);
  return result instanceof Promise
    ? result.then((settled) => schemaOutput(jobName, settled, item, index))
    : schemaOutput(jobName, result, item, index);
}

function schemaOutput<I>(jobName: string, result: StandardSchemaV1.Result<I>, item: unknown, index: number): I {
  if (result.issues) {
    const reasons = result.issues
      .map((issue) => {
        const path = issue.path?.map((part) => (typeof part === 'object' ? part.key : part)).join('.');
        return path ? `${path}: ${issue.message}` : issue.message;
      })
      .join('; ');
    throw new InputError(index, `job "${jobName}": input item #${index} ${previewItem(item)} is rejected by the job's schema: ${reasons}`);
  }
  return result.value;
}
