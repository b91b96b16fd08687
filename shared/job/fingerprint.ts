/**
 * A job's fingerprint: a hash of its module and the local modules it imports, so that a
 * worker running another version of the job never takes its tasks. Packages are not
 * part of it; paths are relative to the job's folder, so the same files give the same
 * fingerprint on every machine.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Job } from './job-definition.js';

const cache = new Map<string, Promise<JobVersion>>();

/** A fingerprint with the files it was computed from, as they were then. */
export interface JobVersion {
  fingerprint: string;
  files: Array<{ path: string; mtimeMs: number; size: number }>;
}

export async function jobFingerprint(job: Job): Promise<string> {
  if (job.modulePath === undefined) return hashText(sourceOfFunctions(job));
  return (await jobVersion(job.modulePath)).fingerprint;
}

export function jobVersion(modulePath: string): Promise<JobVersion> {
  let pending = cache.get(modulePath);
  if (!pending) {
    pending = computeJobVersion(modulePath);
    cache.set(modulePath, pending);
  }
  return pending;
}

/**
 * Takes a version computed earlier (by another process, or kept with a compiled job) when
 * none of its files changed since; says whether it did.
 */
export async function adoptJobVersion(modulePath: string, version: JobVersion): Promise<boolean> {
  if (!(await filesUnchanged(version.files))) return false;
  rememberJobVersion(modulePath, version);
  return true;
}

/** A version this process computed from the files as they are now: `jobVersion` answers with it. */
export function rememberJobVersion(modulePath: string, version: JobVersion): void {
  cache.set(modulePath, Promise.resolve(version));
}

export type FileStamp = JobVersion['files'][number];

/** Size and modification time of each file that exists. */
export async function stampFiles(paths: string[]): Promise<FileStamp[]> {
  const stamps = await Promise.all(
    paths.map(async (path) => {
      const now = await stat(path).catch(() => undefined);
      return now && { path, mtimeMs: now.mtimeMs, size: now.size };
    }),
  );
  return stamps.filter((stamp) => stamp !== undefined);
}

/** Whether every file still has the size and modification time it was stamped with. */
export async function filesUnchanged(stamps: FileStamp[]): Promise<boolean> {
  const now = await stampFiles(stamps.map((stamp) => stamp.path));
  return now.length === stamps.length && now.every((stamp, i) => stamp.mtimeMs === stamps[i]!.mtimeMs && stamp.size === stamps[i]!.size);
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
  return localInputs(result.metafile);
}

/** The files of a build that are the job's own: not packages. */
export function localInputs(metafile: { inputs: Record<string, unknown> }): string[] {
  return Object.keys(metafile.inputs)
    .filter((file) => !file.includes('node_modules/'))
    .sort();
}

/** The fingerprint of a job module as its files are now (uncached). */
export async function fingerprintModule(modulePath: string): Promise<string> {
  return (await computeJobVersion(modulePath)).fingerprint;
}

async function computeJobVersion(modulePath: string): Promise<JobVersion> {
  return versionOfFiles(modulePath, await localModuleFiles(modulePath));
}

/**
 * The version of a job module made of these local files (paths relative to its folder, as
 * esbuild's metafile gives them).
 */
export async function versionOfFiles(modulePath: string, localFiles: string[]): Promise<JobVersion> {
  const workingDir = dirname(modulePath);
  const hash = createHash('sha256');
  const files: JobVersion['files'] = [];
  for (const file of localFiles) {
    const path = resolve(workingDir, file);
    const [content, stats] = await Promise.all([readFile(path), stat(path)]);
    hash.update(`${file}\0`);
    hash.update(content);
    hash.update('\0');
    files.push({ path, mtimeMs: stats.mtimeMs, size: stats.size });
  }
  return { fingerprint: hash.digest('hex').slice(0, 12), files };
}

function sourceOfFunctions(job: Job): string {
  return [job.name, String(job.map), String(job.combine), String(job.reduce), job.partitions].join('\0');
}

function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
