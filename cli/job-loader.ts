/**
 * Loads job files. TypeScript loads directly (tsx), in the CLI, its forked workers and any
 * threads alike, and a job that imports 'redmap' gets this copy of it.
 */
import { existsSync, statSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobDefinitionError } from '../shared/errors.js';
import { isJob, type Job } from '../shared/job-definition.js';

/** `.ts` when running from source, `.js` from the built package. */
const OWN_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
export const OWN_INDEX_URL = new URL(`../index${OWN_EXTENSION}`, import.meta.url).href;

let registered: Promise<void> | undefined;

export function registerJobLoader(): Promise<void> {
  registered ??= (async () => {
    // Loaded before the hooks: every module imported after them goes through tsx, which is slow,
    // and a job's `import 'redmap'` then finds this copy already loaded.
    await import(OWN_INDEX_URL);
    const [{ register: registerEsm }, { register: registerCjs }] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    registerEsm();
    registerCjs();
    registerHooks(new URL('./self-resolve-hook.mjs', import.meta.url), { data: { indexUrl: OWN_INDEX_URL } });
  })();
  return registered;
}

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
  await registerJobLoader();
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
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

/** The job as loaded from `path`, so its fingerprint covers that file even when defineJob's caller was elsewhere. */
function withModulePath(job: Job, path: string): Job {
  return job.modulePath === path ? job : Object.freeze({ ...job, modulePath: path });
}
