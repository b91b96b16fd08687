/**
 * Steps a run with `minReplicas` N ≥ 1 must have on N replicas before anything relies on
 * them (a commit, a seal, a flip to reducing...). A script cannot call WAIT, and WAIT counts
 * only the writes of its own connection, so each step goes out as one pipeline on a
 * connection of its own: the script, a small write, then `WAIT N timeout`, with nothing in
 * between. The small write makes WAIT cover the step even when the script wrote nothing
 * this time (a step sent again answers from memory) on a connection that is new since the
 * first try: replication is one ordered stream, so a replica that has the small write has
 * every write the primary took before it.
 *
 * The connection is never BullMQ's: lock renewals must not queue behind a WAIT. ioredis sends
 * unanswered commands again after a reconnect, and a WAIT sent again alone on a new connection
 * would confirm nothing yet answer N; so a step during which the connection was re-established
 * counts as unconfirmed, like one too few replicas confirmed. Its caller sends it again (every
 * step script answers a second call the same way) after a short wait.
 */
import { Cluster, type Redis } from 'ioredis';
import { InvalidOptionError, RedisError } from '../errors.js';
import { runScript, type LuaScript } from './lua-scripts.js';
import type { RedisClient } from './redis-connection.js';

/** How long one WAIT waits for the replicas before the step counts as unconfirmed. */
const WAIT_TIMEOUT_MS = 1000;
/** The key the small write sets; it expires on its own. */
const PROBE_TTL_MS = 60_000;

export interface StepDurability {
  /** Replicas that must confirm the step (the run's minReplicas); 0 runs the script alone. */
  minReplicas: number;
  /** The run's record: the time of the last unconfirmed step is noted there, for `status`. */
  runMeta: string;
}

/**
 * A step the primary took but the run's replicas did not confirm: fewer answered WAIT in
 * time, or the connection was re-established in between. Not acknowledged; sent again.
 */
export class StepUnconfirmedError extends RedisError {
  constructor(message: string) {
    super('REDIS_TOO_FEW_REPLICAS', message);
  }
}

interface StepConnection {
  redis: Redis;
  /** Counts the times it became ready: a step that sees it change was not confirmed by its own WAIT. */
  readyCount: number;
}

const stepConnections = new WeakMap<Redis, StepConnection>();

/** Runs a step script, confirmed by `durability.minReplicas` replicas when that is ≥ 1. */
export async function runStep(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
  durability: StepDurability | undefined,
): Promise<unknown> {
  const needed = durability?.minReplicas ?? 0;
  if (needed === 0) return runScript(client, script, keys, args);
  if (client instanceof Cluster) throw clusterRefusal();
  const connection = await readyStepConnection(client);
  const readyCount = connection.readyCount;
  let [reply, confirmed] = await confirmedCall(connection.redis, script.sha, true, keys, args, needed, durability!.runMeta);
  if (reply instanceof Error && reply.message.startsWith('NOSCRIPT')) {
    [reply, confirmed] = await confirmedCall(connection.redis, script.source, false, keys, args, needed, durability!.runMeta);
  }
  if (reply instanceof Error) throw reply;
  if (connection.readyCount !== readyCount) {
    throw new StepUnconfirmedError('the connection to Redis was re-established before the replicas confirmed a step; it is sent again');
  }
  if (confirmed < needed) {
    // For `status`: tasks wait for replicas rather than fail. Only a note, so its own failure is ignored.
    await client.hset(durability!.runMeta, 'replicasWaitAt', Date.now()).catch(() => {});
    throw new StepUnconfirmedError(
      `${confirmed} of the ${needed} replicas the run asks for (minReplicas) confirmed a step within ${WAIT_TIMEOUT_MS}ms; ` +
        'check the replicas (INFO replication on the primary)',
    );
  }
  return reply;
}

/** The script's reply (an Error when it failed), and how many replicas confirmed it. */
async function confirmedCall(
  connection: Redis,
  shaOrSource: string,
  bySha: boolean,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
  needed: number,
  runMeta: string,
): Promise<[unknown, number]> {
  const pipeline = connection.pipeline();
  if (bySha) pipeline.evalsha(shaOrSource, keys.length, ...keys, ...args);
  else pipeline.eval(shaOrSource, keys.length, ...keys, ...args);
  // Under the run's hash tag, so the probe sits beside the run's own keys.
  pipeline.set(`${runMeta}:replica-probe`, '1', 'PX', PROBE_TTL_MS);
  pipeline.wait(needed, WAIT_TIMEOUT_MS);
  const results = await pipeline.exec();
  if (results === null) throw connectionLost();
  const [[scriptError, reply], [probeError], [waitError, confirmed]] = results as [
    [Error | null, unknown],
    [Error | null, unknown],
    [Error | null, unknown],
  ];
  for (const error of [probeError, waitError]) {
    if (error) throw isConnectionLoss(error) ? connectionLost() : error;
  }
  return [scriptError ?? reply, Number(confirmed)];
}

/** ioredis's words for commands a closed connection took with it. */
function isConnectionLoss(error: Error): boolean {
  return /Connection is closed|aborted due to connection close|Reached the max retries per request/.test(error.message);
}

function connectionLost(): StepUnconfirmedError {
  return new StepUnconfirmedError('the connection to Redis was lost before the replicas confirmed a step; it is sent again');
}

/** How long a step waits for its connection to be ready before it counts as unconfirmed (and is tried again). */
const READY_TIMEOUT_MS = 5000;

/**
 * The client's step connection once it is ready, so that its becoming ready (the first
 * time, or after a drop) is not taken for a reconnect during the step.
 */
async function readyStepConnection(client: Redis): Promise<StepConnection> {
  const connection = stepConnectionOf(client);
  if (connection.redis.status === 'ready') return connection;
  let timer: NodeJS.Timeout | undefined;
  let onReady = (): void => {};
  try {
    await new Promise<void>((resolve, reject) => {
      onReady = resolve;
      connection.redis.once('ready', onReady);
      timer = setTimeout(() => reject(connectionLost()), READY_TIMEOUT_MS);
    });
    return connection;
  } finally {
    clearTimeout(timer);
    connection.redis.off('ready', onReady);
  }
}

/** One step connection per client, closed with it. */
function stepConnectionOf(client: Redis): StepConnection {
  const known = stepConnections.get(client);
  if (known) return known;
  const connection: StepConnection = {
    // Connected at once (the client it copies may be lazy), so the first step finds it ready.
    redis: client.duplicate({ connectionName: `${client.options.connectionName ?? 'redmap'}:steps`, lazyConnect: false }),
    readyCount: 0,
  };
  connection.redis.on('ready', () => connection.readyCount++);
  connection.redis.on('error', () => {}); // its failures reach the step that was using it
  client.once('end', () => connection.redis.disconnect());
  stepConnections.set(client, connection);
  return connection;
}

/**
 * Refuses a run that asks for more replicas than the primary has in sync now: on a Cluster
 * (where WAIT would have to follow each slot's master) and when too few replicas are online.
 */
export async function requireReplicas(client: RedisClient, needed: number): Promise<void> {
  if (needed === 0) return;
  if (client instanceof Cluster) throw clusterRefusal();
  const info = await client.info('replication');
  const online = info.split('\n').filter((line) => /^slave\d+:.*state=online/.test(line)).length;
  if (online < needed) {
    throw new RedisError(
      'REDIS_TOO_FEW_REPLICAS',
      `the run asks for ${needed} ${needed === 1 ? 'replica' : 'replicas'} to confirm its writes (minReplicas), but the primary has ${online} online; ` +
        'start replicas (docs/reliability.md), or submit with a lower --min-replicas',
    );
  }
}

function clusterRefusal(): InvalidOptionError {
  return new InvalidOptionError('minReplicas', 'minReplicas is not supported on a Redis Cluster: leave it at 0 (the default)');
}
