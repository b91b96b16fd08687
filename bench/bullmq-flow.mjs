// Baseline C: the log job hand-rolled on plain BullMQ, as a user would: a flow with one child
// job per file (counting it the plain way, naive-log.mjs) and a parent that sums the
// children's counts from getChildrenValues().
//
//   node bench/bullmq-flow.mjs worker REDIS_URL        a worker process (start two, keep them)
//   node bench/bullmq-flow.mjs submit REDIS_URL FILE…  one run: prints `COUNT KEY` lines
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { countErrors, formatCounts } from './naive-log.mjs';

const [mode, url, ...files] = process.argv.slice(2);
const connection = { url, maxRetriesPerRequest: null };
const prefix = 'bench-flow';

if (mode === 'worker') {
  new Worker('count', async (job) => Object.fromEntries(await countErrors(job.data.file)), { connection, prefix, concurrency: 1 });
  new Worker(
    'sum',
    async (job) => {
      const totals = new Map();
      for (const counts of Object.values(await job.getChildrenValues())) {
        for (const [key, count] of Object.entries(counts)) totals.set(key, (totals.get(key) ?? 0) + count);
      }
      return Object.fromEntries(totals);
    },
    { connection, prefix, concurrency: 1 },
  );
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
  process.stdout.write(formatCounts(new Map(Object.entries(totals))));
  await new Queue('sum', { connection, prefix }).obliterate({ force: true }).catch(() => {});
  await Promise.all([flows.close(), events.close()]);
  process.exit(0);
}
