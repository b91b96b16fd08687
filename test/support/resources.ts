/**
 * Everything a test opens through these helpers is tracked, and the after-each check in
 * leak-check.ts fails a test that left a worker, connection or process open.
 */
const open = new Map<object, string>();

export function track<T extends object>(resource: T, description: string): T {
  open.set(resource, description);
  return resource;
}

export function release(resource: object): void {
  open.delete(resource);
}

/** Descriptions of what is still open, emptied. */
export function takeLeaks(): string[] {
  const leaks = Array.from(open.values());
  open.clear();
  return leaks;
}
