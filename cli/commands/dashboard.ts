import { DASHBOARD_ENVIRONMENT_VARIABLES, readDashboardCredentials } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { TaskQueues } from '../../shared/tasks/task-queue.js';
import { intFlag, LOG_OPTIONS, REDIS_OPTIONS, stringFlag, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { bindRefusal, isLoopbackHost } from '../dashboard/bind-policy.js';
import { startDashboard } from '../dashboard/dashboard-server.js';
import { EXIT } from '../exit-codes.js';

export const dashboardSpec: CommandSpec = {
  name: 'dashboard',
  summary:
    'Serves a web page that lists runs, newest first, and follows one live: progress and throughput charts, partitions\n' +
    'reduced, failed items with their input and error, limits, workers; with buttons to cancel, retry and throttle.\n' +
    'It listens on 127.0.0.1 unless told otherwise; another address needs credentials (REDMAP_DASHBOARD_PASSWORD or\n' +
    'REDMAP_DASHBOARD_PASSWORD_FILE) or --insecure-public. It speaks plain HTTP: put a TLS proxy in front on a network.',
  usage: 'redmap dashboard [--port PORT] [--host HOST]',
  options: {
    port: { type: 'string', value: 'PORT', description: 'port to listen on (default 8080; 0 picks a free one)' },
    host: { type: 'string', value: 'HOST', description: 'address to listen on (default 127.0.0.1)' },
    'insecure-public': {
      type: 'boolean',
      description: 'listen on a non-loopback address without credentials (anyone who reaches it can cancel runs)',
    },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap dashboard', 'REDMAP_DASHBOARD_PASSWORD_FILE=/etc/redmap/dashboard.pw redmap dashboard --host 0.0.0.0 --port 8080'],
  notes: [
    'Credentials (never flags):',
    ...Object.entries(DASHBOARD_ENVIRONMENT_VARIABLES).map(([name, meaning]) => `  ${name.padEnd(34)}${meaning}`),
  ],
  usesRedis: true,
};

export async function dashboard(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const port = intFlag(args, 'port', { min: 0, max: 65535 }) ?? 8080;
  const host = stringFlag(args, 'host') ?? '127.0.0.1';
  const credentials = readDashboardCredentials();
  const refusal = bindRefusal({ host, hasCredentials: credentials !== undefined, insecurePublic: Boolean(args.values['insecure-public']) });
  if (refusal) throw new UsageError(refusal);
  const redis = await openCliRedis(ctx, args, false, 'dashboard');
  const queues = new TaskQueues(redis.client, ctx.prefix);
  const closeRedis = async (): Promise<void> => {
    await queues.close();
    await redis.client.quit().catch(() => redis.client.disconnect());
  };
  let running;
  try {
    running = await startDashboard({
      client: redis.client,
      queues,
      prefix: ctx.prefix,
      host,
      port,
      credentials,
      redisShown: redis.url,
      log: ctx.log,
    });
  } catch (error) {
    await closeRedis();
    throw new UsageError(`--port ${port}: cannot listen on ${host}:${port} (${(error as Error).message})`);
  }
  ctx.say(`dashboard at ${running.url} (Redis ${redis.url}, prefix ${ctx.prefix}); Ctrl-C to stop`);
  if (!isLoopbackHost(host) && !credentials) ctx.say('--insecure-public: anyone who reaches this address can cancel and retry runs');
  const dashboardRunning = running;
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void dashboardRunning
        .close()
        .then(closeRedis)
        .then(() => resolve(EXIT.done));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
