// A job's own map, combine and reduce run without the engine: no Redis, queue or task, only
// the work. The like-with-like baselines (plain-map.mjs, and bullmq-flow.mjs given a job) run
// it on the module redmap compiles the job file into, so the code that counts is the same.
import { pathToFileURL } from 'node:url';

/** The job a compiled module exports (default export, or `job`); the plain runners fold with its combine. */
export async function importCompiledJob(modulePath) {
  const module = await import(pathToFileURL(modulePath).href);
  const job = module.default ?? module.job;
  for (const name of ['map', 'combine', 'reduce']) {
    if (typeof job?.[name] !== 'function') {
      throw new Error(`${modulePath} exports no job with a ${name} function; the plain baselines need map, combine and reduce`);
    }
  }
  return job;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
/** What a map or reduce call is handed: a signal that never aborts, a logger that drops everything. */
const context = { runId: 'plain', taskId: 'plain', partition: 0, attempt: 1, signal: new AbortController().signal, log: silent };

/** Folds `[key, value]` pairs into `totals` with the job's combine. */
export function combineInto(job, totals, pairs) {
  for (const [key, value] of pairs) {
    const had = totals.get(key);
    totals.set(key, had === undefined ? value : job.combine(had, value));
  }
  return totals;
}

/** Maps every item in turn, one call at a time, and folds what each call returns into `totals`. */
export async function mapItems(job, items, totals = new Map()) {
  for (const item of items) {
    let output = job.map(item, context);
    if (typeof output?.then === 'function') output = await output;
    if (Symbol.asyncIterator in output) {
      for await (const pair of output) combineInto(job, totals, [pair]);
    } else {
      combineInto(job, totals, output);
    }
  }
  return totals;
}

/** The job's reduce of every key's combined value: key -> result. */
export async function reduceAll(job, totals) {
  const results = new Map();
  for (const [key, value] of totals) {
    const result = job.reduce(key, [value], context);
    results.set(key, typeof result?.then === 'function' ? await result : result);
  }
  return results;
}
