/**
 * A TCP proxy between Redis clients and a real redis-server that, on a seeded schedule,
 * lets a command through and then cuts the connection before its reply reaches the
 * client: Redis ran it, the client never heard, and ioredis sends it again.
 *
 * What ioredis 6.0.0 does on such a cut (read in built/redis/event_handler.js and checked
 * by test/integration/reply-dropping-proxy.test.ts):
 * - Commands written on a `ready` connection and not yet answered are resent, in order,
 *   once the client is ready again (`autoResendUnfulfilledCommands`, default true; redmap
 *   leaves it on). Commands issued while it reconnects wait in the offline queue and go
 *   after them. So a script whose reply was lost runs twice, and the caller sees only the
 *   second reply.
 * - Not resent: the rest of a pipeline (`pipeline()`/`multi()`) some of whose replies
 *   arrived before the cut. Those commands fail with "Command aborted due to connection
 *   close" although Redis may have run them. A transaction whose MULTI was already
 *   answered is such a pipeline, so the proxy holds back a transaction's replies until its
 *   EXEC: a drop inside MULTI/EXEC loses them all, and the whole transaction is resent.
 * - Not resent either, with `maxRetriesPerRequest` a number N: every (N+1)th failed
 *   reconnect attempt rejects everything queued with MaxRetriesPerRequestError (N = 0:
 *   at the first cut, and ioredis's own default is 20). redmap passes null: commands wait
 *   through any outage and are resent.
 * - A cut during the handshake (HELLO, CLIENT SETNAME, INFO) resends nothing: those are
 *   never targeted. ioredis 6 sends HELLO 3, so replies are RESP3 (see resp-scanner.ts).
 *
 * Targets: redmap's scripts (EVALSHA by SHA, EVAL by the SHA of its source; see
 * script-shas.ts) with probability `dropRedmap`, and everything else a client sends
 * (BullMQ's scripts, its BZPOPMIN, redmap's plain commands) with `dropBullmq`. Each
 * connection draws one number per command from a generator seeded by (seed, connection
 * number), so one seed gives one schedule for the same sequence of connections and
 * commands. A connection that subscribes (or MONITORs) is passed through untouched.
 *
 *   const proxy = await startReplyDroppingProxy({ target: { host, port }, seed, dropRedmap: 0.1,
 *     scripts: redmapScripts(), otherScripts: bullmqScripts() });
 *   // worker processes and the producer get REDIS_URL: proxy.url; proxy.drops() says what was cut.
 */
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Socket } from 'node:net';
import { z } from 'zod';
import { seededRandom } from './faults.js';
import { RespScanner } from './resp-scanner.js';

const probability = z.number().min(0).max(1);
const optionsSchema = z.object({
  target: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) }),
  seed: z.number().int(),
  /** Chance that a redmap script's reply is dropped. */
  dropRedmap: probability,
  /** Chance for any other command (BullMQ's scripts and commands, redmap's plain ones). Default 0. */
  dropBullmq: probability.default(0),
  /** sha → name of redmap's scripts (redmapScripts()). */
  scripts: z.instanceof(Map<string, string>),
  /** Names for other scripts in the log (e.g. bullmqScripts()); unknown ones show as `evalsha:<sha>`. */
  otherScripts: z.instanceof(Map<string, string>).default(new Map()),
  /** Drops in all, over every connection. Default: no limit (with probability 1, a resend is dropped again). */
  maxDrops: z.number().int().min(0).default(Number.MAX_SAFE_INTEGER),
  /** Targets only commands this accepts, by name: a script's name, else the command in lower case ('bzpopmin'). */
  only: z.custom<(name: string) => boolean>((value) => typeof value === 'function').optional(),
  /** A target whose reply has not come by then (it blocks, or waits behind a blocking command) is cut anyway. */
  replyTimeoutMs: z.number().int().positive().default(2000),
});
export type ReplyDroppingProxyOptions = z.input<typeof optionsSchema>;
type Settings = z.output<typeof optionsSchema>;

export type TargetKind = 'redmap' | 'bullmq';

export interface Drop {
  /** Date.now() when the connection was cut. */
  at: number;
  /** 1 for the first connection the proxy accepted, and so on. */
  connection: number;
  /** The command's position on its connection, from 0. */
  command: number;
  name: string;
  kind: TargetKind;
  /** False when the safety timeout cut before the reply came (Redis may not have run it yet). */
  replySeen: boolean;
}

export interface ReplyDroppingProxy {
  /** redis://127.0.0.1:PORT, for REDIS_URL of the clients to test. */
  readonly url: string;
  readonly port: number;
  drops(): Drop[];
  /** Stops choosing new targets (connections already cutting still cut); resume() starts again. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Never targets: the connection's setup, and transaction brackets (a target inside moves the cut to EXEC). */
const NEVER_TARGETED = new Set([
  'hello',
  'auth',
  'client',
  'select',
  'info',
  'quit',
  'reset',
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
]);
/** After these a connection carries messages, not replies to count. */
const PASS_THROUGH_AFTER = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'monitor']);

/** What the connections share: the choice of targets, the drop budget, the log. */
class DropPolicy {
  private reserved = 0;
  paused = false;
  readonly log: Drop[] = [];

  constructor(readonly settings: Settings) {}

  classify(args: Buffer[]): { verb: string; name: string; kind: TargetKind | undefined } {
    const verb = args[0]?.toString('latin1').toLowerCase() ?? '';
    const sha = /^evalsha(_ro)?$/.test(verb)
      ? args[1]?.toString('latin1').toLowerCase()
      : /^eval(_ro)?$/.test(verb) && args[1]
        ? createHash('sha1').update(args[1]).digest('hex')
        : undefined;
    if (sha !== undefined) {
      const redmap = this.settings.scripts.get(sha);
      if (redmap !== undefined) return { verb, name: redmap, kind: 'redmap' };
      return { verb, name: this.settings.otherScripts.get(sha) ?? `${verb}:${sha.slice(0, 12)}`, kind: 'bullmq' };
    }
    return { verb, name: verb, kind: NEVER_TARGETED.has(verb) || PASS_THROUGH_AFTER.has(verb) ? undefined : 'bullmq' };
  }

  /** Whether this command's reply is to be lost, given the number drawn for it. */
  chooses(kind: TargetKind, name: string, draw: number): boolean {
    if (this.paused || this.reserved >= this.settings.maxDrops) return false;
    if (this.settings.only && !this.settings.only(name)) return false;
    return draw < (kind === 'redmap' ? this.settings.dropRedmap : this.settings.dropBullmq);
  }

  /** Takes one drop of the budget; false when another connection took the last one. */
  reserve(): boolean {
    if (this.reserved >= this.settings.maxDrops) return false;
    this.reserved += 1;
    return true;
  }
}

/** Mixes the seed with the connection number, so neighbouring connections get unrelated draws. */
function connectionSeed(seed: number, connection: number): number {
  let hash = Math.imul(seed ^ Math.imul(connection, 0x9e3779b1), 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

interface Target {
  command: number;
  name: string;
  kind: TargetKind;
}

/** One client's connection and its own connection to Redis. */
class ProxiedConnection {
  private readonly commands = new RespScanner({ captureArgs: 2, inline: true });
  private readonly replies = new RespScanner({ captureArgs: 0, inline: false });
  private readonly random: () => number;
  private sent = 0;
  private answered = 0;
  private passThrough = false;
  private ended = false;
  /** An open MULTI: its replies are held until EXEC shows whether it holds a target. */
  private transaction: { multi: number; target?: Target; timer: NodeJS.Timeout } | undefined;
  /** A target on its way: replies from `hold` on are held, and the reply of `cutAt` ends the connection. */
  private armed: { hold: number; cutAt: number; target: Target; timer: NodeJS.Timeout } | undefined;
  private held: { bytes: Buffer; reply: number }[] = [];

  constructor(
    private readonly id: number,
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly policy: DropPolicy,
  ) {
    this.random = seededRandom(connectionSeed(policy.settings.seed, id));
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    upstream.on('data', (chunk: Buffer) => this.fromServer(chunk));
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      to.on('drain', () => from.resume());
      from.on('close', () => this.end(to));
      // 'close' follows every error and handles it.
      from.on('error', () => {});
    }
  }

  private fromClient(chunk: Buffer): void {
    // After a target, nothing more reaches Redis: the client sends it again after reconnecting.
    if (this.ended || this.armed) return;
    if (this.passThrough) return this.write(this.upstream, this.client, chunk);
    for (const frame of this.scan(this.commands, chunk)) {
      const next = this.onCommand(frame.args);
      if (next === 'cut') return this.write(this.upstream, this.client, chunk.subarray(0, frame.end));
      if (next === 'pass-through') break;
    }
    this.write(this.upstream, this.client, chunk);
  }

  private onCommand(args: Buffer[]): 'go on' | 'cut' | 'pass-through' {
    const command = this.sent++;
    const draw = this.random();
    const { verb, name, kind } = this.policy.classify(args);
    if (PASS_THROUGH_AFTER.has(verb)) {
      this.passThrough = true;
      this.closeTransaction();
      return 'pass-through';
    }
    const chosen = kind !== undefined && this.policy.chooses(kind, name, draw) ? { command, name, kind } : undefined;
    if (verb === 'multi') {
      const timer = setTimeout(() => this.closeTransaction(), this.policy.settings.replyTimeoutMs);
      this.transaction = { multi: command, timer };
    } else if (this.transaction && (verb === 'exec' || verb === 'discard')) {
      const { multi, target } = this.transaction;
      this.closeTransaction();
      if (verb === 'exec' && target && this.policy.reserve()) return this.arm(multi, command, target);
    } else if (this.transaction) {
      this.transaction.target ??= chosen;
    } else if (chosen && this.policy.reserve()) {
      return this.arm(command, command, chosen);
    }
    return 'go on';
  }

  private arm(hold: number, cutAt: number, target: Target): 'cut' {
    const timer = setTimeout(() => this.cut(false), this.policy.settings.replyTimeoutMs);
    this.armed = { hold, cutAt, target, timer };
    return 'cut';
  }

  private closeTransaction(): void {
    clearTimeout(this.transaction?.timer);
    this.transaction = undefined;
    this.flushHeld();
  }

  private fromServer(chunk: Buffer): void {
    if (this.ended) return;
    if (this.passThrough) return this.write(this.client, this.upstream, chunk);
    let from = 0;
    for (const frame of this.scan(this.replies, chunk)) {
      this.deliver(chunk.subarray(from, frame.end), this.answered);
      from = frame.end;
      if (frame.push) continue;
      if (this.armed?.cutAt === this.answered) return this.cut(true);
      this.answered += 1;
    }
    if (from < chunk.length) this.deliver(chunk.subarray(from), this.answered);
  }

  /** Replies before the first one held go to the client; the rest wait. */
  private deliver(bytes: Buffer, reply: number): void {
    if (reply < this.holdFrom()) this.write(this.client, this.upstream, bytes);
    else this.held.push({ bytes, reply });
  }

  private holdFrom(): number {
    return Math.min(this.armed?.hold ?? Infinity, this.transaction?.multi ?? Infinity);
  }

  private flushHeld(): void {
    const limit = this.passThrough ? Infinity : this.holdFrom();
    while (this.held[0] !== undefined && this.held[0].reply < limit) {
      this.write(this.client, this.upstream, this.held.shift()!.bytes);
    }
  }

  private cut(replySeen: boolean): void {
    if (this.ended || !this.armed) return;
    const { target } = this.armed;
    this.policy.log.push({ at: Date.now(), connection: this.id, command: target.command, name: target.name, kind: target.kind, replySeen });
    // The replies before the target still reach the client: end after what was written.
    this.client.destroySoon();
    this.end(this.upstream);
  }

  private scan(scanner: RespScanner, chunk: Buffer) {
    try {
      return scanner.scan(chunk);
    } catch {
      // Not RESP: nothing sensible to forward.
      this.end(this.client);
      this.end(this.upstream);
      return [];
    }
  }

  private write(to: Socket, from: Socket, bytes: Buffer): void {
    if (bytes.length > 0 && !to.destroyed && !to.write(bytes)) from.pause();
  }

  /** Ends the connection, closing `socket` at once (the other side follows on its 'close'). */
  end(socket: Socket): void {
    this.ended = true;
    clearTimeout(this.armed?.timer);
    clearTimeout(this.transaction?.timer);
    this.held = [];
    socket.destroy();
  }
}

export async function startReplyDroppingProxy(options: ReplyDroppingProxyOptions): Promise<ReplyDroppingProxy> {
  const settings = optionsSchema.parse(options);
  const policy = new DropPolicy(settings);
  const connections = new Map<Socket, ProxiedConnection>();
  let accepted = 0;
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = createConnection({ ...settings.target, noDelay: true });
    const connection = new ProxiedConnection(++accepted, client, upstream, policy);
    connections.set(client, connection).set(upstream, connection);
    client.on('close', () => connections.delete(client));
    upstream.on('close', () => connections.delete(upstream));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the reply-dropping proxy has no TCP port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    port: address.port,
    drops: () => [...policy.log],
    pause: () => void (policy.paused = true),
    resume: () => void (policy.paused = false),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const [socket, connection] of connections) connection.end(socket);
      }),
  };
}
