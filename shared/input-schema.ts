import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InputError } from './errors.js';
import { findJsonProblem, previewItem } from './json-values.js';

/**
 * Checks one input item against the job's schema and against JSON (items travel through
 * Redis), returning the schema's output. Throws an InputError naming the item and its index.
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
  let result = schema['~standard'].validate(item);
  if (result instanceof Promise) result = await result;
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
