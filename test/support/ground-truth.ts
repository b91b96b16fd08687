/**
 * The answers of the examples computed without redmap: the GNU-tools pipelines their
 * READMEs give, and the output of a run in the same `COUNT KEY` form.
 */
import { spawnSync } from 'node:child_process';

export const LOG_PIPELINE =
  `LC_ALL=C sed 's/\\r$//' "$@" | LC_ALL=C grep -aE '^[^"]*] "[A-Z]+ [^ "]+ HTTP/[^ "]+" [45][0-9]{2} [0-9]+ "[^"]*" "[^"]*"$' ` +
  `| LC_ALL=C sed -E 's/^[^"]*"[A-Z]+ ([^ ?]*)[^ ]* [^"]*" ([0-9]{3}) .*/\\2 \\1/' | LC_ALL=C sort | uniq -c | sed 's/^ *//'`;
export const WORD_PIPELINE = `LC_ALL=C sed '' "$@" | LC_ALL=C tr -cs 'A-Za-z0-9' '\\n' | LC_ALL=C tr 'A-Z' 'a-z' | grep -v '^$' | LC_ALL=C sort | uniq -c | sed 's/^ *//'`;

/** Runs a pipeline over files; its output is the ground truth. */
export function gnu(pipeline: string, files: string[]): string {
  const result = spawnSync('bash', ['-c', pipeline, 'gnu', ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout;
}

/** `COUNT KEY` lines from JSON Lines, as uniq -c prints them. */
export function asCounts(jsonLines: string): string {
  return jsonLines
    .trim()
    .split('\n')
    .map((line) => {
      const { key, value } = JSON.parse(line) as { key: string; value: number };
      return `${value} ${key}\n`;
    })
    .join('');
}
