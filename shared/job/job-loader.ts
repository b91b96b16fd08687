/**
 * Loads job files, TypeScript or JavaScript, in the CLI, its forked workers and any isolates
 * alike: each imports the job's compiled module (job-compiler.ts), in which `import 'redmap'`
 * is this copy of redmap.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobDefinitionError } from '../errors.js';
import { isJob, type Job } from './job-definition.js';
import { compileJob } from './job-compiler.js';

export interface LoadedJob {
  job: Job;
  path: string;
}

/** The job file's absolute path; fails when there is no such file. */
export function jobFilePath(file: string): string {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new JobDefinitionError('JOB_NOT_FOUND', `job file not found: ${file}`);
  }
  return path;
}

/** Imports a job file and returns its job: the default export, or an export named `job`. */
export async function loadJobFile(file: string): Promise<LoadedJob> {
  const path = jobFilePath(file);
  let module: Record<string, unknown>;
  try {
    module = await importCompiled(path);
  } catch (error) {
    if (error instanceof JobDefinitionError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new JobDefinitionError('JOB_INVALID', `job file ${file} failed to load: ${reason}`, { cause: error });
  }
  const job = isJob(module.default) ? module.default : module.job;
  if (!isJob(job)) {
    throw new JobDefinitionError(
      'JOB_INVALID',
      `job file ${file} exports no job: add "export default defineJob({ ... })" (defineJob comes from 'redmap')`,
    );
  }
  return { job: withModulePath(job, path), path };
}

async function importCompiled(path: string): Promise<Record<string, unknown>> {
  // Stack traces from the job then name its own files and lines, not the compiled module's.
  process.setSourceMapsEnabled(true);
  const compiled = await compileJob(path);
  try {
    return (await import(pathToFileURL(compiled.modulePath).href)) as Record<string, unknown>;
  } catch (error) {
    // A cached module names packages by where they were installed then; after an install that
    // moved one, compiling again finds it where it is now.
    if (!compiled.cached || (error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    const fresh = await compileJob(path, { fresh: true });
    return (await import(pathToFileURL(fresh.modulePath).href)) as Record<string, unknown>;
  }
}

/** The job as loaded from `path`, so its fingerprint covers that file even when defineJob's caller was elsewhere. */
function withModulePath(job: Job, path: string): Job {
  return job.modulePath === path ? job : Object.freeze({ ...job, modulePath: path });
}
