// Baselines C and C′: the log job hand-rolled on plain BullMQ, as a user would: a flow with
// one child job per file and a parent that merges the children's counts from
// getChildrenValues(). C counts the plain way (naive-log.mjs); C′, given --job, calls the
// job's own compiled map, combine and reduce (plain-job.mjs), under a prefix of its own so
// the two kinds of workers never take each other's jobs.
//
//   node bench/bullmq-flow.mjs worker REDIS_URL [--job MODULE]          a worker process (start two, keep them)
//   node bench/bullmq-flow.mjs submit REDIS_URL [--job MODULE] FILE…   one run: prints `COUNT KEY` lines
import { parseArgs } from 'node:util';
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { countErrors, formatCounts } from './naive-log.mjs';
import { combineInto, importCompiledJob, mapItems, reduceAll } from './plain-job.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { job: { type: 'string' } } });
const [mode, url, ...files] = positionals;
const connection = { url, maxRetriesPerRequest: null };
const prefix = values.job ? 'bench-flow-job' : 'bench-flow';

/** Counts of one file, and the merge of every file's counts: the plain way, or the job's. */
async function countingFunctions() {
  if (!values.job) {
    return {
      count: async (file) => Object.fromEntries(await countErrors(file)),
      merge: async (counts) => {
        const totals = new Map();
        for (const one of counts) for (const [key, count] of Object.entries(one)) totals.set(key, (totals.get(key) ?? 0) + count);
        return Object.fromEntries(totals);
      },
    };
  }
  const job = await importCompiledJob(values.job);
  return {
    count: async (file) => Object.fromEntries(await mapItems(job, [file])),
    merge: async (counts) => {
      const totals = new Map();
      for (const one of counts) combineInto(job, totals, Object.entries(one));
      return Object.fromEntries(await reduceAll(job, totals));
    },
  };
}

if (mode === 'worker') {
  const { count, merge } = await countingFunctions();
  new Worker('count', (job) => count(job.data.file), { connection, prefix, concurrency: 1 });
  new Worker('sum', async (job) => merge(Object.values(await job.getChildrenValues())), { connection, prefix, concurrency: 1 });
  process.send?.('ready');
} else {
  const flows = new FlowProducer({ connection, prefix });
  const events = new QueueEvents('sum', { connection, prefix });
  await events.waitUntilReady();
  const tree = await flows.add({
    name: 'sum',
    queueName: 'sum',
    children: files.map((file) => ({ name: 'count', queueName: 'count', data: { file }, opts: { removeOnComplete: true } })),
    opts: { removeOnComplete: false },
  });
  const totals = await tree.job.waitUntilFinished(events);
  // Written out before the exit below, which would drop what a slow pipe has not taken yet.
  await new Promise((resolve) => process.stdout.write(formatCounts(new Map(Object.entries(totals))), resolve));
  await new Queue('sum', { connection, prefix }).obliterate({ force: true }).catch(() => {});
  await Promise.all([flows.close(), events.close()]);
  process.exit(0);
}
