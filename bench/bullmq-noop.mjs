// Plain BullMQ processing no-op jobs, the yardstick for redmap's per-task cost.
//
//   node bench/bullmq-noop.mjs worker REDIS_URL CONCURRENCY   a worker process
//   node bench/bullmq-noop.mjs submit REDIS_URL COUNT         adds COUNT jobs, waits until all are done
import { Queue, Worker } from 'bullmq';

const [mode, url, number] = process.argv.slice(2);
const connection = { url, maxRetriesPerRequest: null };
const prefix = 'bench-noop';

if (mode === 'worker') {
  new Worker('noop', async () => null, { connection, prefix, concurrency: Number(number) });
  process.send?.('ready');
} else {
  const queue = new Queue('noop', { connection, prefix });
  const count = Number(number);
  for (let i = 0; i < count; i += 1000) {
    const size = Math.min(1000, count - i);
    await queue.addBulk(Array.from({ length: size }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })));
  }
  for (;;) {
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((value) => value === 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.stdout.write(`${count}\n`);
  await queue.close();
}
