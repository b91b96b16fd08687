/**
 * Job files compiled into one module (shared/job/job-compiler.ts): local modules bundled with their
 * own import.meta, the cache reused only while every file is unchanged, errors that name the
 * file and line.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { JobDefinitionError } from '../../index.js';
import { compileJob } from '../../shared/job/job-compiler.js';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { fingerprintModule } from '../../shared/job/fingerprint.js';

const cacheHome = mkdtempSync(join(tmpdir(), 'redmap-cache-'));
const cacheDir = join(cacheHome, 'redmap', 'jobs');

beforeAll(() => {
  process.env.XDG_CACHE_HOME = cacheHome;
});

/** A job folder: job.ts maps each word to the word looked up in words.txt, through lib/lookup.ts. */
function jobFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'redmap-job-'));
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', 'words.txt'), 'a=alpha\nb=beta\n');
  writeFileSync(
    join(dir, 'lib', 'lookup.ts'),
    `import { readFileSync } from 'node:fs';
// Read through this file's own import.meta, which must be lib/, not the job's folder or the cache's.
const pairs = readFileSync(new URL('./words.txt', import.meta.url), 'utf8').trim().split('\\n').map((line) => line.split('='));
export const lookup = (word: string): string => new Map(pairs as Array<[string, string]>).get(word) ?? '?';
export const where = { dirname: import.meta.dirname, filename: import.meta.filename };
`,
  );
  writeFileSync(
    join(dir, 'job.ts'),
    `import { defineJob, z } from 'redmap';
import { lookup, where } from './lib/lookup.js';

export { where };
export default defineJob({
  name: 'lookup',
  input: z.string(),
  map: (word: string) => [[lookup(word), 1]],
  reduce: (_key, values) => values.length,
});
`,
  );
  return dir;
}

describe('loading a job file', () => {
  it('bundles its local modules, each with its own import.meta, and imports redmap as this copy', async () => {
    const dir = jobFolder();
    const { job } = await loadJobFile(join(dir, 'job.ts'));
    expect(job.name).toBe('lookup');
    expect(await job.map('a', {} as never)).toEqual([['alpha', 1]]);
    expect(job.modulePath).toBe(join(dir, 'job.ts'));
    const module = (await import(`${(await compileJob(join(dir, 'job.ts'))).modulePath}`)) as { where: unknown };
    expect(module.where).toEqual({ dirname: join(dir, 'lib'), filename: join(dir, 'lib', 'lookup.ts') });
  });

  it('reuses the compiled module while no file changed, and compiles again when one did', async () => {
    const dir = jobFolder();
    const path = join(dir, 'job.ts');
    const first = await compileJob(path);
    expect(first.cached).toBe(false);
    const again = await compileJob(path);
    expect(again).toEqual({ ...first, cached: true });

    // A change in a module the job imports, not in the job file itself.
    writeFileSync(
      join(dir, 'lib', 'lookup.ts'),
      `export const lookup = (word: string): string => word.toUpperCase();\nexport const where = {};\n`,
    );
    const changed = await compileJob(path);
    expect(changed.cached).toBe(false);
    expect(changed.modulePath).not.toBe(first.modulePath);
    expect(changed.version.fingerprint).not.toBe(first.version.fingerprint);
    expect(existsSync(first.modulePath)).toBe(false); // no module left behind per edit
    const { job } = await loadJobFile(path);
    expect(await job.map('a', {} as never)).toEqual([['A', 1]]);
  });

  it('gives the fingerprint a producer using the library computes, so both name the same queue', async () => {
    const dir = jobFolder();
    const path = join(dir, 'job.ts');
    expect((await compileJob(path)).version.fingerprint).toBe(await fingerprintModule(path));
    expect((await compileJob(path)).version.files.map((file) => file.path).sort()).toEqual([
      join(dir, 'job.ts'),
      join(dir, 'lib', 'lookup.ts'),
    ]);
  });

  it('compiles again when the tsconfig.json that applies changes', async () => {
    const dir = jobFolder();
    const path = join(dir, 'job.ts');
    writeFileSync(join(dir, 'tsconfig.json'), '{"compilerOptions": {"target": "ES2022"}}');
    expect((await compileJob(path)).cached).toBe(false);
    expect((await compileJob(path)).cached).toBe(true);
    writeFileSync(join(dir, 'tsconfig.json'), '{"compilerOptions": {"target": "ES2022", "useDefineForClassFields": false}}');
    const recompiled = await compileJob(path);
    expect(recompiled.cached).toBe(false);
    expect(await compileJob(path)).toEqual({ ...recompiled, cached: true });
  });

  it('compiles again when a tsconfig.json appears nearer the job than the one that applied', async () => {
    const dir = jobFolder();
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'tsconfig.json'), '{"compilerOptions": {"target": "ES2022"}}');
    const path = join(dir, 'nested', 'job.ts');
    writeFileSync(path, readFileSync(join(dir, 'job.ts'), 'utf8').replace('./lib/lookup.js', '../lib/lookup.js'));
    expect((await compileJob(path)).cached).toBe(false);
    expect((await compileJob(path)).cached).toBe(true);
    writeFileSync(join(dir, 'nested', 'tsconfig.json'), '{"compilerOptions": {"target": "ES2020"}}');
    expect((await compileJob(path)).cached).toBe(false);
    expect((await compileJob(path)).cached).toBe(true);
  });

  it('drops the entries and modules of job files that were deleted, at the next compile', async () => {
    const gone = join(jobFolder(), 'job.ts');
    const kept = join(jobFolder(), 'job.ts');
    const goneModule = (await compileJob(gone)).modulePath;
    const keptModule = (await compileJob(kept)).modulePath;
    const orphan = join(cacheDir, '0123456789abcdef.mjs');
    writeFileSync(orphan, '');
    const longAgo = new Date(Date.now() - 3600_000);
    utimesSync(orphan, longAgo, longAgo);
    const entries = (): number => readdirSync(cacheDir).filter((file) => file.endsWith('.json')).length;
    const before = entries();
    rmSync(gone);
    // Any compile prunes; a cache hit does not.
    expect((await compileJob(kept)).cached).toBe(true);
    expect(existsSync(goneModule)).toBe(true);
    const other = join(jobFolder(), 'job.ts');
    writeFileSync(other, `${readFileSync(other, 'utf8')}\n// another job\n`);
    await compileJob(other);
    expect(existsSync(goneModule)).toBe(false);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(keptModule)).toBe(true);
    expect(entries()).toBe(before); // one entry gone, one added
    expect((await compileJob(kept)).cached).toBe(true);
  });

  it('compiles again over a cache entry that is not what it wrote', async () => {
    const dir = jobFolder();
    const path = join(dir, 'job.ts');
    await compileJob(path);
    for (const name of readdirSync(cacheDir).filter((file) => file.endsWith('.json'))) {
      writeFileSync(join(cacheDir, name), '{"source": 1, "module": "../../etc/passwd"}');
    }
    const compiled = await compileJob(path);
    expect(compiled.cached).toBe(false);
    expect(compiled.modulePath.startsWith(cacheDir)).toBe(true);
  });

  it('refuses a file that does not compile, naming the file, line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-job-'));
    writeFileSync(
      join(dir, 'job.ts'),
      `import { defineJob } from 'redmap';\n\nexport default defineJob({ name: 'broken', map: (x) => [[x, 1]] ;\n`,
    );
    const error = await loadJobFile(join(dir, 'job.ts')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JobDefinitionError);
    expect((error as JobDefinitionError).code).toBe('JOB_INVALID');
    expect((error as Error).message).toMatch(/failed to compile: job\.ts:3:\d+: Expected "}" but found ";"/);
  });

  it('refuses an import of a package that is not installed, saying which', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-job-'));
    writeFileSync(join(dir, 'job.ts'), `import { nothing } from 'no-such-package-here';\nexport default nothing;\n`);
    await expect(loadJobFile(join(dir, 'job.ts'))).rejects.toThrow(/job\.ts:1:\d+: Could not resolve "no-such-package-here"/);
  });

  it("points a map's stack trace at the job file's own line", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-job-'));
    writeFileSync(
      join(dir, 'job.ts'),
      `import { defineJob, z } from 'redmap';

type Unused = { a: string };

export default defineJob({
  name: 'throws',
  input: z.string(),
  map: (word: string): Array<[string, number]> => {
    throw new Error('no ' + word);
  },
  reduce: (_key, values) => values.length,
});
`,
    );
    const { job } = await loadJobFile(join(dir, 'job.ts'));
    const error = (() => {
      try {
        job.map('x', {} as never);
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.stack).toContain(`${join(dir, 'job.ts')}:9:`);
  });
});
