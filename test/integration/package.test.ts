/**
 * The package as users get it: `npm pack`, installed into a fresh folder, used from
 * TypeScript and plain JavaScript, its CLI running a job that lives in the user's folder.
 * And a job in a bare folder (no node_modules at all) run by this checkout's CLI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';

const JOB = `import { defineJob, z } from 'redmap';

export default defineJob({
  name: 'user-letters',
  input: z.string(),
  map: (word: string) => [...word].map((letter): [string, number] => [letter, 1]),
  combine: (a: number, b: number) => a + b,
  reduce: (_key: string, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});
`;

const EXPECTED = '{"key":"a","value":3}\n{"key":"b","value":2}\n{"key":"c","value":1}\n';

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the packed package', () => {
  let project: string;
  let vendorDir: string;
  /** Code caches in the package as installed, before any command ran. */
  let cachesAtInstall: string[];

  beforeAll(() => {
    const packDir = mkdtempSync(join(tmpdir(), 'redmap-pack-'));
    execFileSync('npm', ['pack', '--pack-destination', packDir], { cwd: REPO_ROOT, stdio: 'ignore' });
    const tarball = join(
      packDir,
      readdirSync(packDir).find((name) => name.endsWith('.tgz'))!,
    );
    project = mkdtempSync(join(tmpdir(), 'redmap-user-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    const installed = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
    if (installed.code !== 0) throw new Error(`npm install of the packed package failed:\n${installed.stderr}`);
    writeFileSync(join(project, 'job.ts'), JOB);
    vendorDir = join(project, 'node_modules', 'redmap', 'dist', 'vendor');
    cachesAtInstall = readdirSync(vendorDir).filter((name) => name.endsWith('.cache'));
  }, 240_000);

  it('ships no code cache, writes one for this Node on first use, and replaces a garbage one', () => {
    expect(cachesAtInstall).toEqual([]);
    const cache = join(vendorDir, `packages.${process.version}.${process.arch}.cache`);
    rmSync(cache, { force: true });
    const first = run('npx', ['redmap', 'run', 'job.ts', 'abc', 'ab', 'a', '--local'], project);
    expect(first.stdout).toBe(EXPECTED);
    expect(statSync(cache).size).toBeGreaterThan(100_000);
    // V8 refuses a cache that does not match: the bundle is compiled as without one. A process
    // started with Node flags leaves the cache alone (V8 would refuse one made under them too).
    writeFileSync(cache, 'not a code cache');
    const flagged = run('npx', ['redmap', 'run', 'job.ts', 'abc', 'ab', 'a', '--local'], project, {
      NODE_OPTIONS: '--max-old-space-size=2048',
    });
    expect(flagged.stdout).toBe(EXPECTED);
    expect(readFileSync(cache, 'utf8')).toBe('not a code cache');
    const second = run('npx', ['redmap', 'run', 'job.ts', 'abc', 'ab', 'a', '--local'], project);
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe(EXPECTED);
    expect(statSync(cache).size).toBeGreaterThan(100_000);
    expect(readdirSync(vendorDir).filter((name) => name.endsWith('.cache'))).toEqual([`packages.${process.version}.${process.arch}.cache`]);
  });

  it('runs a TypeScript job from the user folder with its CLI, through Redis, with worker processes', async ({ prefix }) => {
    const result = run('npx', ['redmap', 'run', 'job.ts', 'abc', 'ab', 'a', '--workers', '2'], project, {
      REDIS_URL: redisUrl(),
      REDMAP_PREFIX: prefix,
    });
    expect(result.stderr).not.toMatch(/"level":50/);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(EXPECTED);
  });

  it('never acts on test-only failpoints: a stray REDMAP_FAILPOINTS changes nothing in an installed copy', async ({ prefix }) => {
    // From source, this kills every worker process at its first commit, and its replacements too.
    const result = run('npx', ['redmap', 'run', 'job.ts', 'abc', 'ab', 'a', '--workers', '2'], project, {
      REDIS_URL: redisUrl(),
      REDMAP_PREFIX: prefix,
      REDMAP_FAILPOINTS: 'after-map-commit,before-reduce-commit!',
    });
    expect(result.stderr).not.toMatch(/worker process died|failpoint/);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(EXPECTED);
  });

  it('works from plain JavaScript (ESM) through the public entry', () => {
    writeFileSync(
      join(project, 'local.mjs'),
      `import { defineJob, runLocally, z } from 'redmap';
const job = defineJob({ name: 'js-letters', input: z.string(), map: (w) => [...w].map((l) => [l, 1]), reduce: (_k, v) => v.length });
console.log(JSON.stringify(await runLocally(job, ['abc', 'ab', 'a'])));
`,
    );
    const result = run(process.execPath, ['local.mjs'], project);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([
      { key: 'a', value: 3 },
      { key: 'b', value: 2 },
      { key: 'c', value: 1 },
    ]);
  });

  it('loads no worker, reducer or run API for a job file that imports it, until one is called', () => {
    // A load hook (on Node's loader thread) appends every module URL it loads to a file.
    const loaded = join(project, 'loaded.txt');
    writeFileSync(
      join(project, 'load-hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(loaded)}, url + '\\n');
  return next(url, context);
}
`,
    );
    writeFileSync(
      join(project, 'record-loads.mjs'),
      "import { register } from 'node:module';\nregister('./load-hooks.mjs', import.meta.url);\n",
    );
    writeFileSync(
      join(project, 'define-only.mjs'),
      `import { defineJob, startWorker, z } from 'redmap';
defineJob({ name: 'only-defined', input: z.string(), map: (w) => [[w, 1]], reduce: (_k, v) => v.length });
console.log(typeof startWorker);
`,
    );
    const result = run(process.execPath, ['--import', './record-loads.mjs', 'define-only.mjs'], project);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('function\n');
    const urls = readFileSync(loaded, 'utf8').trim().split('\n');
    expect(urls.some((url) => url.endsWith('/redmap/dist/index.js'))).toBe(true);
    expect(urls.filter((url) => /\/redmap\/dist\/(runtime|reducer|producer)\/|\/dist\/vendor\/bullmq\.js$/.test(url))).toEqual([]);
  });

  it('ships types that check a job file', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['job.ts'],
      }),
    );
    const result = run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], project);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('a job file in a bare folder', () => {
  it("gets this checkout's redmap (no install, no package.json) and runs", async () => {
    const bare = mkdtempSync(join(tmpdir(), 'redmap-bare-'));
    writeFileSync(join(bare, 'job.ts'), JOB);
    const result = await runCli(['run', join(bare, 'job.ts'), 'abc', 'ab', 'a', '--local']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(EXPECTED);
  });
});
