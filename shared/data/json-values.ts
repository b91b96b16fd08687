/**
 * Values travel through Redis as JSON, so only values that survive a JSON round trip
 * unchanged are accepted: null, booleans, finite numbers, strings, arrays and plain
 * objects of those.
 */

/** A description of the first part of `value` that JSON would change or drop, or undefined. */
export function findJsonProblem(value: unknown, path = 'value'): string | undefined {
  // Most values are numbers or strings: the set of ancestors is only made for objects.
  return problemIn(value, path, undefined);
}

/** `ancestors` holds the objects on the way down, to report a cycle rather than recurse forever. */
function problemIn(value: unknown, path: string, ancestors: Set<object> | undefined): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON turns into null`;
    case 'undefined':
      return `${path} is undefined, which JSON drops`;
    case 'bigint':
      return `${path} is a BigInt, which JSON cannot encode`;
    case 'function':
    case 'symbol':
      return `${path} is a ${typeof value}, which JSON drops`;
  }
  if (value === null) return undefined;
  ancestors ??= new Set();
  if (ancestors.has(value as object)) return `${path} refers back to a value that contains it (a cycle), which JSON cannot encode`;
  ancestors.add(value as object);
  const problem = problemInObject(value as object, path, ancestors);
  ancestors.delete(value as object);
  return problem;
}

function problemInObject(value: object, path: string, ancestors: Set<object>): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return `${path}[${i}] is an empty slot, which JSON turns into null`;
      const problem = problemIn(value[i], `${path}[${i}]`, ancestors);
      if (problem) return problem;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = value.constructor?.name ?? 'object';
    return `${path} is a ${name}, which JSON does not keep (use plain objects, arrays, strings, numbers, booleans, null)`;
  }
  for (const key of Object.keys(value)) {
    const problem = problemIn((value as Record<string, unknown>)[key], `${path}.${key}`, ancestors);
    if (problem) return problem;
  }
  return undefined;
}

/** A short preview of an input item for messages and failure reports. */
export function previewItem(item: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(item) ?? String(item);
  } catch {
    text = String(item);
  }
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
