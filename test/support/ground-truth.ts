/**
 * Answers computed without redmap, the truths runs are compared with: the GNU-tools
 * pipelines the examples' READMEs give, the output of a run in the same `COUNT KEY` form,
 * and a few lines of plain code for the test jobs. Nothing here imports redmap.
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

/** A key and its count, as a run prints it. */
export interface CountedKey {
  key: string;
  value: number;
}

/** How often each key occurs, keys in UTF-8 byte order as a run prints them. */
export function countKeys(keys: Iterable<string>): CountedKey[] {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((key) => ({ key, value: counts.get(key)! }));
}

/** Entries as JSON Lines, the way `redmap run` and `results` print them. */
export function jsonLines(entries: readonly CountedKey[]): string {
  return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
}

/** The words of lines: lower case, runs of [a-z0-9] (the word-count jobs of the tests). */
export function wordsOf(lines: readonly string[]): string[] {
  return lines.flatMap((line) => line.toLowerCase().match(/[a-z0-9]+/g) ?? []);
}

/** Word counts of lines, counted the plain way, as entries. */
export function countWords(lines: readonly string[]): CountedKey[] {
  return countKeys(wordsOf(lines));
}

/**
 * What the word-count jobs (test/fixtures/jobs/fault-words.ts, word-count-lines.ts) print
 * for these lines, as JSON Lines in byte order of keys.
 */
export function wordCountLines(lines: readonly string[]): string {
  return jsonLines(countWords(lines));
}

/**
 * What test/fixtures/jobs/poison.ts prints for items that all succeed: each item counted
 * once, under its name without the `:argument` part ("slow:300" counts as "slow").
 */
export function poisonCountLines(items: readonly string[]): string {
  return jsonLines(countKeys(items.map((item) => item.replace(/:.*/, ''))));
}

/** What test/fixtures/jobs/logged-map.ts prints: items counted by their first character. */
export function firstLetterCountLines(items: readonly string[]): string {
  return jsonLines(countKeys(items.map((item) => item.slice(0, 1))));
}

/**
 * What test/fixtures/jobs/wide-output.ts gives for these inputs, in plain code: item n emits
 * 50,000 pairs, key `k${i % 1000}` with value n * 50,000 + i, summed per key.
 */
export function wideOutputSums(inputs: readonly number[]): Array<{ key: string; value: number }> {
  const sums = new Map<string, number>();
  for (const n of inputs) for (let i = 0; i < 50_000; i++) sums.set(`k${i % 1000}`, (sums.get(`k${i % 1000}`) ?? 0) + n * 50_000 + i);
  return [...sums.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((key) => ({ key, value: sums.get(key)! }));
}
