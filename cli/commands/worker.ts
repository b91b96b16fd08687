import { LOG_OPTIONS, REDIS_OPTIONS, intFlag, requirePositionals, stringFlag, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { onStopSignals } from '../stop-signals.js';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { Supervisor } from '../supervisor.js';
import type { MachineMetrics } from '../metrics/machine-metrics.js';
import { serveMetrics } from '../metrics/metrics-server.js';
import { UsageError } from '../../shared/errors.js';
import { heartbeatTimeoutFlag, WORKER_OPTIONS, workerConfigFromFlags, workerEnvironment } from './run-flags.js';

export const workerSpec: CommandSpec = {
  name: 'worker',
  summary:
    "Serves a job's tasks until stopped: N worker processes, each running C tasks at once, pulling from the Redis that\n" +
    'every machine shares. A process that dies or stops answering is replaced. SIGTERM or Ctrl-C drains: no new tasks,\n' +
    'running ones finish within the grace period, exit 0; a second signal exits at once.\n' +
    'Workers run only tasks of the exact job version (fingerprint) they loaded: deploy the same job files everywhere.',
  usage: 'redmap worker JOB [--processes N] [--concurrency C] [options]',
  options: {
    processes: { type: 'string', short: 'p', value: 'N', description: 'worker processes on this machine (default 1)' },
    'metrics-port': {
      type: 'string',
      value: 'PORT',
      description: 'serve Prometheus metrics of every worker process of this machine at http://HOST:PORT/metrics',
    },
    'metrics-host': {
      type: 'string',
      value: 'HOST',
      description: 'address the metrics endpoint binds (default 127.0.0.1; 0.0.0.0 for a Prometheus on another machine)',
    },
    ...WORKER_OPTIONS,
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: [
    'REDIS_URL=redis://queue.internal:6379 redmap worker examples/log-errors/job.ts --processes 4',
    'redmap worker examples/pg-enrich/job.ts --concurrency 8 --log-format json',
    'redmap worker job.ts --processes 4 --metrics-port 9464 --metrics-host 0.0.0.0',
  ],
  usesRedis: true,
};

export async function worker(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [jobFile] = requirePositionals(workerSpec, args, ['JOB']);
  const processes = intFlag(args, 'processes', { min: 1, max: 256 }) ?? 1;
  const { path } = await loadJobFile(jobFile!);
  const metricsPort = intFlag(args, 'metrics-port', { min: 0, max: 65535 });
  if (metricsPort === undefined && stringFlag(args, 'metrics-host') !== undefined)
    throw new UsageError('--metrics-host needs --metrics-port');
  const config = { ...workerConfigFromFlags(args, ctx, path), metrics: metricsPort !== undefined };
  const heartbeatTimeoutMs = heartbeatTimeoutFlag(args, config.lockDuration);
  const redis = await openCliRedis(ctx, args, true, 'worker-supervisor');
  ctx.say(`using Redis at ${redis.url} (${redis.source})`);
  await redis.client.quit();
  // prom-client is loaded only when metrics are asked for.
  const metrics = metricsPort === undefined ? undefined : new (await import('../metrics/machine-metrics.js')).MachineMetrics();
  const metricsServer = metrics && (await listenForMetrics(ctx, metrics, metricsPort!, stringFlag(args, 'metrics-host') ?? '127.0.0.1'));
  const supervisor = new Supervisor({ processes, config, env: workerEnvironment(redis), heartbeatTimeoutMs, log: ctx.log, metrics });
  // The handlers come before the processes start: a SIGTERM while one is still starting (a
  // slow machine, a deploy that changes its mind) drains too, instead of killing this process
  // and leaving its children to notice alone.
  return new Promise<number>((resolve, reject) => {
    const signals = onStopSignals(['SIGTERM', 'SIGINT'], {
      first: (signal) => {
        ctx.say(`${signal}: draining (running tasks may take up to the grace period; ${signal} again to stop at once)`);
        void supervisor
          .stop()
          .then(() => metricsServer?.close())
          .then(() => resolve(EXIT.done));
      },
      again: (signal) => {
        ctx.say(`${signal} again: stopping at once`);
        supervisor.kill();
      },
    });
    supervisor.start().then(
      () => {
        if (signals.received === 0) {
          ctx.say(`${processes} worker process(es) serving ${jobFile} (pids ${supervisor.pids.join(', ')}); SIGTERM or Ctrl-C to drain`);
        }
      },
      (error: unknown) => {
        if (signals.received > 0) return; // stopping anyway: the drain resolves
        void metricsServer?.close();
        reject(error);
      },
    );
  });
}

async function listenForMetrics(ctx: CommandContext, metrics: MachineMetrics, port: number, host: string) {
  try {
    const server = await serveMetrics(metrics, port, host, ctx.log);
    const address = server.address();
    const shownHost = host.includes(':') ? `[${host}]` : host;
    ctx.say(`metrics at http://${shownHost}:${typeof address === 'object' && address ? address.port : port}/metrics`);
    return server;
  } catch (error) {
    throw new UsageError(`--metrics-port ${port}: cannot listen on ${host}:${port} (${(error as Error).message})`);
  }
}
