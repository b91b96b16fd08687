/**
 * Glob patterns in inputs, expanded by redmap itself: a quoted `'logs/**\/*.log'` reaches us
 * whole (no shell limit on the argument list, and `**` works in every shell), and each
 * pattern's matches come out in UTF-8 byte order, so a run submitted again maps the same
 * files onto the same chunks whatever order the file system lists them in.
 *
 * Only the paths are held (to sort them), never the files' contents.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import type * as Tinyglobby from 'tinyglobby';
import { sortUtf8 } from '../shared/data/key-order.js';
import { UsageError } from '../shared/errors.js';

/** tinyglobby, loaded only once an input may be a pattern (about 10 ms of every start-up otherwise). */
const tinyglobby = (): typeof Tinyglobby => createRequire(import.meta.url)('tinyglobby') as typeof Tinyglobby;

/** True for an input that redmap expands: it holds `*`, `?` or `[`, and names no existing path as written. */
export function isGlobPattern(input: string): boolean {
  return /[*?[]/.test(input) && input !== '-' && tinyglobby().isDynamicPattern(input) && !existsSync(input);
}

/**
 * Each pattern replaced by the files it matches, sorted; other inputs kept as they are, in
 * place. A pattern that matches nothing is a UsageError naming it (and `where` it was given).
 */
export function expandGlobs(inputs: readonly string[], where: string): string[] {
  if (!inputs.some(isGlobPattern)) return [...inputs];
  return inputs.flatMap((input) => (isGlobPattern(input) ? matchPattern(input, where) : [input]));
}

function matchPattern(pattern: string, where: string): string[] {
  const matches = tinyglobby().globSync(pattern, {
    // Files only, as a shell would hand them to a program that opens them; dot files only when named.
    onlyFiles: true,
    dot: false,
    // A pattern naming a folder means that folder, not everything under it (tinyglobby's default).
    expandDirectories: false,
    // The paths come out in the form the pattern was given in: a worker may run elsewhere.
    absolute: isAbsolute(pattern),
  });
  if (matches.length === 0) {
    throw new UsageError(
      `${where}: the pattern ${JSON.stringify(pattern)} matches no file (redmap expands * ? [ itself; give --no-glob to take inputs as written)`,
    );
  }
  return sortUtf8(matches);
}
