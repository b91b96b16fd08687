/**
 * Entry of a worker process forked by the supervisor. It loads the job, serves its
 * queue, sends a heartbeat every second (a process whose event loop stops answering
 * cannot, and the supervisor kills it), and drains on SIGTERM, SIGINT or a shutdown
 * message: no new tasks, running ones finish within the grace period, exit 0.
 */
import { exitCodeForError } from './exit-codes.js';
import { onStopSignals } from './stop-signals.js';
import { loadJobFile } from '../shared/job/job-loader.js';
import { startWorker, type WorkerHandle } from '../runtime/start-worker.js';
import { readEnvironment, readHandoff } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { resolveRedis } from '../runtime/redis-option.js';
import { isAccessRefused, toRedisError } from '../shared/redis/redis-errors.js';
import {
  WORKER_CONFIG_ENV,
  workerProcessConfigSchema,
  type StartMessage,
  type SupervisorMessage,
  type WorkerProcessConfig,
} from './worker-config.js';
import { workerOptionsSchema, type WorkerOptions } from '../runtime/worker-options.js';

const HEARTBEAT_MS = 1000;

function send(message: SupervisorMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = workerProcessConfigSchema.parse(
    process.env[WORKER_CONFIG_ENV] === undefined ? await startMessage() : readHandoff(WORKER_CONFIG_ENV),
  );
  const log = createLogger({ format: config.logFormat, level: config.logLevel, base: { pid: process.pid } });
  // prom-client is loaded only when metrics are asked for: it adds ~30 ms to every start.
  const metrics = config.metrics ? (await import('./metrics/worker-metrics.js')).createWorkerMetrics() : undefined;
  let handle: WorkerHandle | undefined;
  // Beats from now on, not from when it serves: BullMQ fetches a task as soon as the worker
  // exists, and a map that never yields may start before this process says it is ready.
  const beat = async (): Promise<void> => send({ type: 'heartbeat', active: handle?.activeTasks ?? 0, metrics: await metrics?.snapshot() });
  void beat();
  setInterval(() => void beat(), HEARTBEAT_MS).unref();
  let draining: Promise<void> | undefined;
  const stop = (reason: string): void => {
    if (draining) return;
    log.info({ reason }, 'draining: no new tasks; running ones may finish');
    draining = (handle?.close({ graceMs: config.grace }) ?? Promise.resolve()).finally(() => process.exit(0));
  };
  onStopSignals(['SIGTERM', 'SIGINT'], {
    first: (signal) => stop(signal),
    again: (signal) => log.warn({ signal }, 'second signal; exiting at once'),
  });
  process.on('message', (message: { type?: string }) => message?.type === 'shutdown' && stop('shutdown requested'));
  process.on('disconnect', () => stop('supervisor went away'));

  try {
    readEnvironment(); // fails early on an unreadable REDIS_PASSWORD_FILE
    const { job } = await loadJobFile(config.jobPath);
    handle = await startWorker(job, {
      ...pickWorkerOptions(config),
      redis: resolveRedis(undefined),
      logger: log,
      observer: metrics?.observer,
      sweep: {
        ...(config.sweepIntervalMs !== undefined && { intervalMs: config.sweepIntervalMs }),
        ...(config.sweepStallMs !== undefined && { stallMs: config.sweepStallMs }),
        ...(config.sweepReduceGraceMs !== undefined && { reduceGraceMs: config.sweepReduceGraceMs }),
      },
    });
  } catch (error) {
    // A refusal by Redis (NOPERM, perhaps inside an EXECABORT) is said with what to grant.
    const shown = isAccessRefused(error) ? toRedisError(error) : error;
    send({ type: 'fatal', message: shown instanceof Error ? shown.message : String(shown), exitCode: exitCodeForError(error) });
    log.error({ err: error }, 'worker process could not start');
    process.exit(exitCodeForError(error));
  }
  send({ type: 'ready', queue: handle.queue, fingerprint: handle.fingerprint });
  // Keeps the process alive between tasks; the drain ends it with process.exit.
  setInterval(() => {}, 1 << 30);
}

/**
 * The configuration of a process forked before it was known (cli/prefork.ts), with the
 * environment it would have been forked with (REDIS_URL and the password among it). It
 * exits if its parent goes away first.
 */
function startMessage(): Promise<unknown> {
  return new Promise((resolve) => {
    if (!process.connected) process.exit(0);
    const parentGone = (): never => process.exit(0);
    process.once('disconnect', parentGone);
    const onMessage = (message: Partial<StartMessage>): void => {
      if (message?.type !== 'start') return;
      process.off('message', onMessage).off('disconnect', parentGone);
      for (const name of Object.keys(process.env)) if (!(name in message.env!)) delete process.env[name];
      Object.assign(process.env, message.env);
      resolve(message.config);
    };
    process.on('message', onMessage);
  });
}

/** The config's worker options, every one of them, as startWorker takes them. */
function pickWorkerOptions(config: WorkerProcessConfig): WorkerOptions {
  const names = workerOptionsSchema.keyof().options;
  return Object.fromEntries(names.map((name) => [name, config[name]]));
}

void main();
