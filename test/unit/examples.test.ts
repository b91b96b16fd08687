/**
 * The example jobs give the same counts as the GNU-tools pipelines in their READMEs, on
 * generated data plus hand-written files holding every awkward case (CRLF, no final
 * newline, broken requests, lines and words cut by a read), run locally with 3
 * partitions and one item per chunk so map-reduce mistakes show up.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocally } from 'redmap';
import { generateLogs } from '../../examples/log-errors/generate-logs.js';
import logErrors, { countErrorsInFile, type ErrorCounts } from '../../examples/log-errors/job.js';
import { generateText } from '../../examples/word-count/generate-text.js';
import wordCount, { countWordsInFile } from '../../examples/word-count/job.js';

// Kept identical to the READMEs, with "$@" where they name the files.
const LOG_PIPELINE = String.raw`LC_ALL=C sed 's/\r$//' "$@" \
  | LC_ALL=C grep -aE '^[^"]*] "[A-Z]+ [^ "]+ HTTP/[^ "]+" [45][0-9]{2} [0-9]+ "[^"]*" "[^"]*"$' \
  | LC_ALL=C sed -E 's/^[^"]*"[A-Z]+ ([^ ?]*)[^ ]* [^"]*" ([0-9]{3}) .*/\2 \1/' \
  | LC_ALL=C sort | uniq -c`;
const WORD_PIPELINE = String.raw`LC_ALL=C sed '' "$@" | LC_ALL=C tr -cs 'A-Za-z0-9' '\n' | LC_ALL=C tr 'A-Z' 'a-z' \
  | grep -v '^$' | LC_ALL=C sort | uniq -c`;

const line = (status: string, request: string, tail = ` 153 "-" "curl/8.5.0"`): string =>
  `192.0.2.7 - - [01/Mar/2024:10:00:00 +0000] "${request}" ${status}${tail}`;

/** Every case the log job must get right; each line's terminator is written out. */
const LOG_FIXTURE = [
  line('404', 'GET /a?x=1 HTTP/1.1') + '\n',
  line('404', 'GET /a HTTP/1.1') + '\r\n',
  line('404', 'POST /a?x=1?y=2 HTTP/2.0', ` 0 "https://example.com/?q=1" "Mozilla/5.0 (\\x22quoted\\x22) ${'x'.repeat(300)}"`) + '\n',
  line('400', 'GET /b HTTP/1.1').replace('- - [', '- alice [') + '\n',
  line('599', 'GET /b HTTP/1.0') + '\r\n',
  line('599', 'GET /b HTTP/1.0') + '\n',
  line('400', 'GET ?only=query HTTP/1.1') + '\n',
  line('400', 'PRI * HTTP/2.0') + '\n',
  line('500', 'GET /c HTTP/1.1') + '\r\n',
  // Skipped: broken requests, statuses outside 400-599, lines that are not "combined".
  line('400', '-', ' 0 "-" "-"') + '\n',
  line('400', String.raw`\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03\x6A\xD1`, ' 157 "-" "-"') + '\n',
  line('399', 'GET /d HTTP/1.1') + '\n',
  line('600', 'GET /d HTTP/1.1') + '\n',
  line('200', 'GET /d HTTP/1.1') + '\n',
  line('400', 'GET /a b HTTP/1.1') + '\n',
  line('400', 'GET /') + '\n',
  line('404', 'get /e HTTP/1.1') + '\n',
  line('404', 'GET /e FTP/1.0') + '\n',
  line('404', 'GET  HTTP/1.1') + '\n',
  line('40', 'GET /e HTTP/1.1') + '\n',
  line('4044', 'GET /e HTTP/1.1') + '\n',
  line('404', 'GET /e HTTP/1.1', ' - "-" "-"') + '\n',
  line('404', 'GET /e HTTP/1.1', ' 12 "-"') + '\n',
  line('404', 'GET /e HTTP/1.1', ' 12 "-" "ua" extra') + '\n',
  line('404', 'GET /e HTTP/1.1').replace('] "', ']"') + '\n',
  'garbage without quotes 404 /e\n',
  '\r\n',
  '\n',
  line('503', 'DELETE /f HTTP/1.1'), // no final newline
].join('');

const LOG_FIXTURE_COUNTS = {
  '400 ': 1,
  '400 *': 1,
  '400 /b': 1,
  '404 /a': 3,
  '500 /c': 1,
  '503 /f': 1,
  '599 /b': 2,
};

const TEXT_FIXTURE = "Hello, WORLD! hello\r\nworld42 x86_64 Caf\u00e9 na\u00efve \u6771\u4eac\r\n\r\ndon't STOP-stop\u2014stop 007 end";
const TEXT_FIXTURE_COUNTS = {
  '007': 1,
  '64': 1,
  caf: 1,
  don: 1,
  end: 1,
  hello: 2,
  na: 1,
  stop: 3,
  t: 1,
  ve: 1,
  world: 1,
  world42: 1,
  x86: 1,
};

let folder: string;
let logFiles: string[];
let textFiles: string[];

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'redmap-examples-'));
  logFiles = generateLogs({ outDir: join(folder, 'logs'), files: 6, totalBytes: 2 << 20, seed: 7 }).paths;
  textFiles = generateText({ outDir: join(folder, 'text'), files: 5, totalBytes: 3 << 19, seed: 7 }).paths;
  // Edge cases on generated files too: one with CRLF endings, one without a final newline.
  rewrite(logFiles[0]!, (text) => text.replace(/\n/g, '\r\n'));
  rewrite(logFiles[1]!, (text) => text.slice(0, -1));
  logFiles.push(writeFixture('fixture.log', LOG_FIXTURE));
  textFiles.push(writeFixture('fixture.txt', TEXT_FIXTURE));
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('log-errors example', () => {
  it('counts the hand-written fixture as written out, whatever the read size', async () => {
    const fixture = logFiles.at(-1)!;
    expect(toRecord(await runLocally(logErrors, [fixture], { partitions: 3, chunkSize: 1 }))).toEqual(LOG_FIXTURE_COUNTS);
    for (const bufferSize of [16, 61, 97, 256, 1 << 20]) {
      expect(flattenErrorCounts(await countErrorsInFile(fixture, { bufferSize }))).toEqual(LOG_FIXTURE_COUNTS);
    }
  });

  it('gives the same counts as the grep/sed/sort/uniq pipeline', async () => {
    const expected = gnuCounts(LOG_PIPELINE, logFiles);
    expect(expected.length).toBeGreaterThan(100);
    const results = await runLocally(logErrors, logFiles, { partitions: 3, chunkSize: 1 });
    expect(results.map(({ key, value }) => `${String(value)} ${key}`)).toEqual(expected);
  });

  it('gives the same counts when every line may be cut by a small read', async () => {
    const merged = new Map<string, number>();
    for (const file of logFiles) {
      for (const [key, count] of Object.entries(flattenErrorCounts(await countErrorsInFile(file, { bufferSize: 1000 })))) {
        merged.set(key, (merged.get(key) ?? 0) + count);
      }
    }
    expect(sortedLines(merged)).toEqual(gnuCounts(LOG_PIPELINE, logFiles));
  });
});

describe('word-count example', () => {
  it('counts the hand-written fixture as written out, whatever the read size', async () => {
    const fixture = textFiles.at(-1)!;
    expect(toRecord(await runLocally(wordCount, [fixture], { partitions: 3, chunkSize: 1 }))).toEqual(TEXT_FIXTURE_COUNTS);
    for (const bufferSize of [1, 2, 3, 5, 8, 1 << 20]) {
      expect(Object.fromEntries((await countWordsInFile(fixture, { bufferSize })).entries())).toEqual(TEXT_FIXTURE_COUNTS);
    }
  });

  it('gives the same counts as the tr/sort/uniq pipeline', async () => {
    const expected = gnuCounts(WORD_PIPELINE, textFiles);
    expect(expected.length).toBeGreaterThan(1000);
    const results = await runLocally(wordCount, textFiles, { partitions: 3, chunkSize: 1 });
    expect(results.map(({ key, value }) => `${String(value)} ${key}`)).toEqual(expected);
  });

  it('gives the same counts when words are cut by a small read', async () => {
    const merged = new Map<string, number>();
    for (const file of textFiles) {
      for (const [word, count] of (await countWordsInFile(file, { bufferSize: 61 })).entries()) {
        merged.set(word, (merged.get(word) ?? 0) + count);
      }
    }
    expect(sortedLines(merged)).toEqual(gnuCounts(WORD_PIPELINE, textFiles));
  });
});

/** `uniq -c` output as "COUNT KEY" lines, in `sort` order; a key may end in a space ("400 " has an empty path). */
function gnuCounts(pipeline: string, files: string[]): string[] {
  const output = execFileSync('bash', ['-c', `set -o pipefail; ${pipeline}`, 'bash', ...files], {
    env: { ...process.env, LC_ALL: 'C' },
    encoding: 'latin1',
    maxBuffer: 64 << 20,
  });
  return output
    .split('\n')
    .filter((row) => row !== '')
    .map((row) => row.replace(/^ *(\d+) /, '$1 '));
}

function sortedLines(counts: Map<string, number>): string[] {
  return [...counts].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map(([key, count]) => `${count} ${key}`);
}

function flattenErrorCounts(counts: ErrorCounts): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const [status, paths] of counts) for (const [path, count] of paths) flat[`${status} ${path}`] = count;
  return flat;
}

function toRecord(results: Array<{ key: string; value: unknown }>): Record<string, unknown> {
  return Object.fromEntries(results.map(({ key, value }) => [key, value]));
}

function rewrite(path: string, change: (text: string) => string): void {
  writeFileSync(path, change(readFileSync(path, 'latin1')), 'latin1');
}

function writeFixture(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}
