/**
 * The reply-dropping proxy, between ioredis clients built with redmap's own options and a
 * private redis-server: it passes everything else through byte for byte, and when it drops
 * a reply, Redis has run the command and ioredis sends it again. The truth is read from
 * Redis directly, not through the proxy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisUrl, redisOptions } from '../../shared/redis/redis-connection.js';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { waitFor } from '../support/wait-for.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { startReplyDroppingProxy, type ReplyDroppingProxy, type ReplyDroppingProxyOptions } from '../support/reply-dropping-proxy.js';
import { release, track } from '../support/resources.js';
import { bullmqScripts, redmapScripts } from '../support/script-shas.js';

const INCR = "return redis.call('INCR', KEYS[1])";
let server: TestRedisServer;
let direct: Redis;
let incrSha: string;
const open: { proxy?: ReplyDroppingProxy; clients: Redis[] } = { clients: [] };

beforeAll(async () => {
  server = await startRedisServer();
  direct = new Redis({ port: server.port, host: '127.0.0.1' });
  // Redis names the script itself: the proxy's own hashing is not the truth here.
  incrSha = (await direct.script('LOAD', INCR)) as string;
});
afterAll(async () => {
  direct.disconnect();
  await server.stop();
});
afterEach(async () => {
  for (const client of open.clients.splice(0)) {
    client.disconnect();
    release(client);
  }
  await open.proxy?.close();
  open.proxy = undefined;
  await direct.flushall();
});

async function proxy(options: Partial<ReplyDroppingProxyOptions> = {}): Promise<ReplyDroppingProxy> {
  open.proxy = await startReplyDroppingProxy({
    target: { host: '127.0.0.1', port: server.port },
    seed: 1,
    dropRedmap: 1,
    scripts: new Map([[incrSha, 'incr-counter']]),
    ...options,
  });
  return open.proxy;
}

/** A client as redmap makes them (resend on, no retry limit), through the proxy. */
function clientOf(through: ReplyDroppingProxy, overrides: RedisOptions = {}): Redis {
  const client = new Redis({ ...redisOptions(parseRedisUrl(through.url), { name: 'proxy-test' }), ...overrides });
  client.on('error', () => {}); // the cuts are the point
  open.clients.push(track(client, 'Redis client through the reply-dropping proxy'));
  return client;
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Pipeline replies with errors as their messages and big values as digests, so that a difference prints short. */
function readable(replies: [Error | null, unknown][] | null) {
  return (replies ?? []).map(([error, value]) => [error?.message ?? null, Buffer.isBuffer(value) ? digest(value) : value]);
}

describe('the reply-dropping proxy', () => {
  it('passes pipelined commands and values of several MiB through unchanged, and still hits the reply it aims at', async () => {
    const through = await proxy({ maxDrops: 1 });
    const client = clientOf(through);
    const big = [randomBytes(4 << 20), randomBytes(3 << 20)];
    const mixed = (target: Redis, key: string) =>
      target
        .pipeline()
        .set(`${key}:a`, big[0]!)
        .hset(`${key}:h`, { f: '1', g: 'two' })
        .hgetall(`${key}:h`) // a RESP3 map
        .zadd(`${key}:z`, '1.5', 'm', '2', 'n')
        .zrange(`${key}:z`, '0', '-1', 'WITHSCORES') // doubles
        .sadd(`${key}:s`, 'x', 'y')
        .smembers(`${key}:s`) // a RESP3 set
        .get(`${key}:missing`) // null
        .incr(`${key}:h`) // an error, inside the pipeline
        .eval("return {1, {'a', {2, false}}, redis.call('GET', KEYS[1])}", 1, `${key}:missing`)
        .getBuffer(`${key}:a`)
        .set(`${key}:b`, big[1]!)
        .getBuffer(`${key}:b`)
        .exec();
    const viaDirect = readable(await mixed(direct, 'k'));
    await direct.flushall();
    const viaProxy = readable(await mixed(client, 'k'));
    expect(viaProxy).toEqual(viaDirect);
    expect(viaProxy.at(-3)?.[1]).toBe(digest(big[0]!));
    expect(viaProxy.at(-1)?.[1]).toBe(digest(big[1]!));
    const many = client.pipeline();
    for (let i = 0; i < 2000; i++) many.set(`p:k${i}`, String(i)).incrby('p:sum', i);
    expect((await many.exec())?.at(-1)).toEqual([null, (1999 * 2000) / 2]);
    expect(await direct.get('p:k1999')).toBe('1999');
    expect(through.drops()).toEqual([]);
    // A reply miscounted on the way would cut too early or wait out the safety timeout.
    expect(await client.evalsha(incrSha, 1, 'counter')).toBe(2);
    expect(through.drops()).toMatchObject([{ name: 'incr-counter', replySeen: true }]);
  });

  it('lets a script run, drops its reply, and the client sends it again: it runs twice and resolves', async () => {
    const through = await proxy({ maxDrops: 1 });
    const client = clientOf(through);
    const started = Date.now();
    expect(await client.evalsha(incrSha, 1, 'counter')).toBe(2);
    expect(await direct.get('counter')).toBe('2');
    expect(through.drops()).toEqual([
      { at: expect.any(Number), connection: 1, command: expect.any(Number), name: 'incr-counter', kind: 'redmap', replySeen: true },
    ]);
    expect(through.drops()[0]!.at).toBeGreaterThanOrEqual(started);
    // The budget is spent: the next call and an EVAL of the same source pass.
    expect(await client.eval(INCR, 1, 'counter')).toBe(3);
  });

  it('knows a script sent as EVAL by its source, and drops nothing while paused', async () => {
    const through = await proxy({ maxDrops: 1 });
    const client = clientOf(through);
    through.pause();
    expect(await client.eval(INCR, 1, 'counter')).toBe(1);
    through.resume();
    expect(await client.eval(INCR, 1, 'counter')).toBe(3);
    expect(through.drops().map(({ connection, name }) => ({ connection, name }))).toEqual([{ connection: 1, name: 'incr-counter' }]);
  });

  it('knows the scripts redmap and BullMQ really send, by name, and never a Lua include alone', async () => {
    const names = { scripts: redmapScripts(), otherScripts: bullmqScripts(), dropBullmq: 1, maxDrops: 1 };
    expect([...names.scripts.values()]).toEqual(
      expect.arrayContaining(['create-run', 'seal-run', 'commit-staged-map-task', 'commit-reduce']),
    );
    expect([...names.scripts.values()]).not.toEqual(expect.arrayContaining(['map-phase']));
    const first = await proxy({ ...names, only: (name) => name === 'read-run' });
    expect(await readRunSnapshot(clientOf(first), 'p', 'no-such-run')).toBeUndefined();
    expect(first.drops()).toMatchObject([{ name: 'read-run', kind: 'redmap' }]);
    await first.close();
    const second = await proxy({ ...names, only: (name) => name === 'addStandardJob' });
    const queue = new Queue('q', { connection: clientOf(second) });
    await queue.add('task', { n: 1 }, { jobId: 'j1' });
    await queue.close();
    expect(second.drops()).toMatchObject([{ name: 'addStandardJob', kind: 'bullmq' }]);
    expect(await direct.hget('bull:q:j1', 'name')).toBe('task');
  });

  it('does not resend when the client gives up on retries: the script ran, the caller sees an error', async () => {
    const client = clientOf(await proxy({ maxDrops: 1 }), { maxRetriesPerRequest: 0 });
    await expect(client.evalsha(incrSha, 1, 'counter')).rejects.toThrow(/max retries per request/);
    expect(await direct.get('counter')).toBe('1');
  });

  it('drops a reply in a pipeline before any of its replies came: the whole pipeline is resent', async () => {
    const client = clientOf(await proxy({ maxDrops: 1 }));
    expect(await client.pipeline().evalsha(incrSha, 1, 'counter').set('x', 'v').get('x').exec()).toEqual([
      [null, 2],
      [null, 'OK'],
      [null, 'v'],
    ]);
    expect(await direct.get('counter')).toBe('2');
  });

  it('drops a reply in a pipeline after one of its replies came: ioredis aborts the rest, though the script ran', async () => {
    const client = clientOf(await proxy({ maxDrops: 1 }));
    const replies = await client.pipeline().set('x', 'v').evalsha(incrSha, 1, 'counter').get('x').exec();
    expect(readable(replies)).toEqual([
      [null, 'OK'],
      ['Command aborted due to connection close', undefined],
      ['Command aborted due to connection close', undefined],
    ]);
    expect(await direct.get('counter')).toBe('1');
    expect(open.proxy?.drops()).toMatchObject([{ name: 'incr-counter', replySeen: true }]);
  });

  it('drops the replies of a whole MULTI/EXEC holding a target, so the transaction is resent', async () => {
    const client = clientOf(await proxy({ maxDrops: 1 }));
    const replies = await client.multi().incr('plain').evalsha(incrSha, 1, 'counter').get('counter').exec();
    expect(replies).toEqual([
      [null, 2],
      [null, 2],
      [null, '2'],
    ]);
    expect(await direct.mget('plain', 'counter')).toEqual(['2', '2']);
    expect(open.proxy?.drops()).toHaveLength(1);
  });

  it('cuts a target whose reply does not come within the safety timeout, and logs the reply unseen', async () => {
    const through = await proxy({ dropRedmap: 0, dropBullmq: 1, maxDrops: 1, only: (name) => name === 'blpop', replyTimeoutMs: 300 });
    const popped = clientOf(through).blpop('list', 0);
    await waitFor('the safety timeout to cut the BLPOP', () => through.drops().length === 1, 10_000);
    await direct.rpush('list', 'item');
    expect(await popped).toEqual(['list', 'item']);
    expect(through.drops()[0]).toMatchObject({ name: 'blpop', kind: 'bullmq', replySeen: false });
  });

  it('makes the same decisions for the same seed, and other decisions for another', async () => {
    const schedule = async (seed: number) => {
      const through = await proxy({ seed, dropRedmap: 0.4 });
      const client = clientOf(through, { retryStrategy: () => 5 });
      for (let call = 0; call < 20; call++) await client.evalsha(incrSha, 1, `counter:${seed}`);
      client.disconnect();
      await through.close();
      return through.drops().map(({ connection, command, name }) => ({ connection, command, name }));
    };
    const first = await schedule(7);
    expect(first.length).toBeGreaterThan(3);
    expect(await schedule(7)).toEqual(first);
    expect(await schedule(8)).not.toEqual(first);
    // Every call ran once, plus once for each reply dropped.
    expect(Number(await direct.get('counter:7'))).toBe(2 * (20 + first.length));
  });

  // RESP3 sends messages as pushes, RESP2 as arrays that look like replies.
  it.each([3, 2] as const)('never cuts a subscriber connection, whatever it is sent (RESP%i)', async (protocol) => {
    const through = await proxy({ dropBullmq: 1 });
    const subscriber = clientOf(through, { protocol });
    let reconnects = 0;
    subscriber.on('reconnecting', () => reconnects++);
    const received: string[] = [];
    subscriber.on('message', (_channel, message: string) => received.push(message));
    await subscriber.subscribe('news');
    for (let i = 0; i < 20; i++) await direct.publish('news', String(i));
    // A PING would be a target: were it, nothing after it would reach Redis, and the second would hang.
    const pong = protocol === 3 ? 'PONG' : ['pong', '']; // what Redis answers a subscriber in each protocol
    expect(await subscriber.ping()).toEqual(pong);
    expect(await subscriber.ping()).toEqual(pong);
    await waitFor('20 messages', () => received.length === 20, 5000);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(reconnects).toBe(0);
    expect(through.drops()).toEqual([]);
  });
});
