/**
 * `redmap results RUN | head`: a reader of stdout that closes early had what it wanted. The
 * commands that print results (run, run --local, results) stop writing and exit as they
 * would have, with no error on stderr (it used to say "redmap: write EPIPE").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliResult } from '../support/cli.js';
import { openClient, redisUrl, testPrefix, wipePrefix } from '../support/test-redis.js';

const JOB = 'test/fixtures/jobs/word-count-lines.ts';
/** 100,000 distinct words, about 2.5 MB of results: far more than a pipe holds, so the writer meets the closed end. */
const LINES = 1000;
const WORDS_PER_LINE = 100;
const RUN_ID = 'reader-leaves';

let dir: string;
let inputs: string;
const prefix = testPrefix();
const env = (): NodeJS.ProcessEnv => ({ REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'redmap-epipe-'));
  inputs = join(dir, 'lines.txt');
  const line = (i: number): string => Array.from({ length: WORDS_PER_LINE }, (_, j) => `w${i * WORDS_PER_LINE + j}`).join(' ');
  writeFileSync(inputs, Array.from({ length: LINES }, (_, i) => `${line(i)}\n`).join(''));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const client = await openClient();
  await wipePrefix(client, prefix);
  await client.close();
});

/** Runs redmap with a stdout reader that closes the pipe after its first chunk; returns what that chunk held. */
async function readFirstChunkOnly(args: string[]): Promise<CliResult & { firstChunk: string }> {
  const child = startCli(args, { env: env() });
  const firstChunk = await new Promise<string>((resolve) => {
    child.stdout.once('data', (chunk: Buffer) => {
      child.stdout.destroy();
      resolve(chunk.toString());
    });
  });
  return { ...(await child.result), firstChunk };
}

describe('a reader of stdout that closes early', () => {
  it('run (through Redis): the run is done, exit 0, no error on stderr', async () => {
    const result = await readFirstChunkOnly([
      'run',
      JOB,
      '--input-file',
      inputs,
      '--chunk-size',
      '100',
      '--workers',
      '1',
      '--run-id',
      RUN_ID,
      '--quiet',
    ]);
    expect(result.firstChunk).toMatch(/^\{"key":"w0","value":1\}\n/);
    // Its stderr has the usual info lines (using Redis, run done); nothing about the pipe.
    expect(result.stderr).not.toMatch(/EPIPE|"level":(40|50|60)/);
    expect(result.stderr).toMatch(/run reader-leaves done/);
    expect(result.code).toBe(0);
  });

  it('results RUN: exit 0, nothing on stderr; read whole, every result is still there', async () => {
    const cut = await readFirstChunkOnly(['results', RUN_ID]);
    expect(cut.firstChunk).toMatch(/^\{"key":"w0","value":1\}\n/);
    expect(cut.stderr).toBe('');
    expect(cut.code).toBe(0);
    const whole = await runCli(['results', RUN_ID], { env: env() });
    expect(whole.stdout.trim().split('\n')).toHaveLength(LINES * WORDS_PER_LINE);
  });

  it('run --local, as a table: exit 0, nothing on stderr', async () => {
    const result = await readFirstChunkOnly(['run', JOB, '--input-file', inputs, '--local', '--quiet', '--format', 'table']);
    expect(result.firstChunk).toMatch(/^KEY +VALUE\n/);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
