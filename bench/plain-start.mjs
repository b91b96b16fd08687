// The floors under redmap's fixed cost (bench/startup.mjs): the same shapes of command written
// with plain ioredis and plain BullMQ as installed, doing the least their kind of command can.
//
//   node bench/plain-start.mjs ping URL          connect, PING, quit: any command that talks to Redis
//   node bench/plain-start.mjs ping-cached URL   the same with the ioredis redmap bundles and loads
//                                                with V8's code cache (dist/vendor/: npm run build)
//   node bench/plain-start.mjs worker URL QUEUE  a BullMQ worker process (it says 'ready' over IPC)
//   node bench/plain-start.mjs submit URL QUEUE  add one job, wait until a warm worker has finished it
//   node bench/plain-start.mjs run URL           fork a worker process, add one job, wait for it, stop the worker
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';

// Each mode loads only what it uses.
const bullmq = () => import('bullmq');

const [mode, url, queueName = 'start-floor-run'] = process.argv.slice(2);
const connection = { url, maxRetriesPerRequest: null };
const prefix = 'bench-start';
const LINE = 'The quick brown fox jumps over the lazy dog.';

/** Adds one job and resolves with its result once a worker has finished it. */
async function addOneAndWait(name) {
  const { Queue, QueueEvents } = await bullmq();
  const queue = new Queue(name, { connection, prefix });
  const events = new QueueEvents(name, { connection, prefix });
  await events.waitUntilReady();
  const job = await queue.add('count', { line: LINE }, { removeOnComplete: true });
  const result = await job.waitUntilFinished(events);
  await Promise.all([queue.close(), events.close()]);
  return result;
}

if (mode === 'ping' || mode === 'ping-cached') {
  const Redis =
    mode === 'ping'
      ? (await import('ioredis')).default
      : createRequire(import.meta.url)('../dist/vendor/load-packages.cjs').ioredis.default;
  const redis = new Redis(url);
  await redis.ping();
  await redis.quit();
} else if (mode === 'worker') {
  const { Worker } = await bullmq();
  const worker = new Worker(queueName, async (job) => job.data.line.split(/\s+/).length, { connection, prefix });
  await worker.waitUntilReady();
  process.send?.('ready');
  process.on('message', (message) => message === 'stop' && worker.close().then(() => process.exit(0)));
} else if (mode === 'submit') {
  process.stdout.write(`${await addOneAndWait(queueName)}\n`);
} else if (mode === 'run') {
  // As `redmap run` does: the worker process starts first, the job is added meanwhile.
  const child = fork(new URL(import.meta.url).pathname, ['worker', url, queueName], { stdio: 'inherit' });
  const ready = new Promise((resolve) => child.once('message', resolve));
  const result = addOneAndWait(queueName);
  await ready;
  process.stdout.write(`${await result}\n`);
  child.send('stop');
  await new Promise((resolve) => child.once('exit', resolve));
} else {
  throw new Error(`unknown mode ${mode}: ping, worker, submit or run`);
}
