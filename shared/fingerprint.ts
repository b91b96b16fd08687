/**
 * A job's fingerprint: a hash of its module and the local modules it imports, so that a
 * worker running another version of the job never takes its tasks. Packages are not
 * part of it; paths are relative to the job's folder, so the same files give the same
 * fingerprint on every machine.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Job } from './job-definition.js';

const cache = new Map<string, Promise<string>>();

export function jobFingerprint(job: Job): Promise<string> {
  if (job.modulePath === undefined) return Promise.resolve(hashText(sourceOfFunctions(job)));
  let pending = cache.get(job.modulePath);
  if (!pending) {
    pending = fingerprintModule(job.modulePath);
    cache.set(job.modulePath, pending);
  }
  return pending;
}

/** The local files a module imports, found by bundling it with esbuild without writing anything. */
export async function localModuleFiles(modulePath: string): Promise<string[]> {
  const { build } = await import('esbuild');
  const workingDir = dirname(modulePath);
  const result = await build({
    entryPoints: [modulePath],
    absWorkingDir: workingDir,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    external: ['redmap', 'redmap/*'],
    logLevel: 'silent',
    outdir: workingDir,
  });
  return Object.keys(result.metafile.inputs)
    .filter((file) => !file.includes('node_modules/'))
    .sort();
}

/** The fingerprint of a job module as its files are now (uncached). */
export async function fingerprintModule(modulePath: string): Promise<string> {
  const workingDir = dirname(modulePath);
  const hash = createHash('sha256');
  for (const file of await localModuleFiles(modulePath)) {
    hash.update(`${file}\0`);
    hash.update(await readFile(resolve(workingDir, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}

function sourceOfFunctions(job: Job): string {
  return [job.name, String(job.map), String(job.combine), String(job.reduce), job.partitions].join('\0');
}

function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
