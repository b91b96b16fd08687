/**
 * A TCP relay that holds every chunk a fixed delay in each direction: network latency in user
 * space, for kernels without the netem qdisc (`tc qdisc … netem` fails with "Specified qdisc
 * kind is unknown"). The multihost suite runs it inside its Redis host; the bench runs it on
 * loopback.
 *
 * Chunks keep their order: Node fires timers of equal delay in the order they were set, and
 * a late timer only adds delay. A half-close (FIN) reaches the other side after the delay,
 * behind the data before it; an abrupt close (reset, refused connection, error) resets the
 * other side after the delay. A direction that holds HIGH_WATER_BYTES stops reading until it
 * has passed them on, so a slow reader slows the sender, as a full TCP window does.
 *
 *   node --import tsx test/support/delay-relay.ts [LISTEN_HOST:]LISTEN_PORT TARGET_HOST:PORT DELAY_MS
 *
 * prints `relaying on PORT` once it listens (LISTEN_PORT 0 takes a free port; LISTEN_HOST
 * defaults to 127.0.0.1) and stops on SIGTERM.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

/** What one direction of one connection may hold, in its timers and its outgoing socket's buffer. */
export const HIGH_WATER_BYTES = 1 << 20;

export interface DelayRelayOptions {
  /** Default 127.0.0.1. */
  listenHost?: string;
  /** 0 takes a free port. */
  listenPort: number;
  targetHost: string;
  targetPort: number;
  /** Added to every chunk in each direction; 0 passes chunks on at once. */
  delayMs: number;
}

export interface DelayRelay {
  readonly port: number;
  /** Bytes the relay holds now (in its timers and its sockets' outgoing buffers), over every connection. */
  heldBytes(): number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

export function startDelayRelay(options: DelayRelayOptions): Promise<DelayRelay> {
  const { delayMs } = options;
  // setTimeout(fn, 0) waits 1 ms in Node: with no delay, pass chunks on at once.
  const later = delayMs > 0 ? (fn: () => void) => void setTimeout(fn, delayMs) : (fn: () => void) => fn();
  const sockets = new Set<Socket>();
  let held = 0;

  /** Copies `from` to `to`, each chunk, end and abrupt close `delayMs` late. */
  function relayDirection(from: Socket, to: Socket): void {
    let waiting = 0; // bytes of `from` in timers
    const isFull = () => waiting + to.writableLength >= HIGH_WATER_BYTES;
    const resumeIfRoom = () => {
      if (from.isPaused() && !isFull()) from.resume();
    };
    from.on('data', (chunk: Buffer) => {
      waiting += chunk.length;
      held += chunk.length;
      later(() => {
        waiting -= chunk.length;
        held -= chunk.length;
        if (!to.destroyed) to.write(chunk);
        resumeIfRoom();
      });
      if (isFull()) from.pause();
    });
    to.on('drain', resumeIfRoom);
    from.on('end', () => later(() => to.end()));
    // Closed cleanly: `from` sent its FIN and took ours, so `to` ends on its own. Otherwise
    // (reset, refused, error, gone with data in flight) `to` is reset too.
    from.on('close', () => {
      sockets.delete(from);
      if (!(from.readableEnded && from.writableFinished)) later(() => to.destroyed || to.resetAndDestroy());
    });
    // 'close' follows every error and handles it.
    from.on('error', () => {});
  }

  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = createConnection({ host: options.targetHost, port: options.targetPort, allowHalfOpen: true, noDelay: true });
    sockets.add(client).add(upstream);
    relayDirection(client, upstream);
    relayDirection(upstream, client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort, options.listenHost ?? '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : options.listenPort,
        heldBytes: () => held + Array.from(sockets, (socket) => socket.writableLength).reduce((a, b) => a + b, 0),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}

/** `[HOST:]PORT`, `HOST:PORT` and `DELAY_MS` from the command line; throws naming the argument. */
function parseArguments([listen, target, delay]: string[]): DelayRelayOptions {
  const usage = 'usage: delay-relay.ts [LISTEN_HOST:]LISTEN_PORT TARGET_HOST:PORT DELAY_MS';
  const port = (text: string | undefined, name: string) => {
    const value = Number(text);
    if (text === undefined || text === '' || !Number.isInteger(value) || value < 0 || value > 65_535)
      throw new Error(`${name}: expected a port from 0 to 65535, got ${JSON.stringify(text)}. ${usage}`);
    return value;
  };
  const [listenHost, listenPort] = listen?.includes(':') ? splitHostPort(listen) : [undefined, listen];
  const [targetHost, targetPort] = target?.includes(':') ? splitHostPort(target) : [undefined, undefined];
  if (!targetHost) throw new Error(`TARGET_HOST:PORT: expected a host and a port, got ${JSON.stringify(target)}. ${usage}`);
  const delayMs = Number(delay);
  if (delay === undefined || delay === '' || !(delayMs >= 0))
    throw new Error(`DELAY_MS: expected a number of milliseconds, 0 or more, got ${JSON.stringify(delay)}. ${usage}`);
  return {
    listenHost,
    listenPort: port(listenPort, 'LISTEN_PORT'),
    targetHost,
    targetPort: port(targetPort, 'TARGET_HOST:PORT'),
    delayMs,
  };
}

function splitHostPort(text: string): [string, string] {
  const colon = text.lastIndexOf(':');
  return [text.slice(0, colon), text.slice(colon + 1)];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let options: DelayRelayOptions;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const relay = await startDelayRelay(options);
  process.stdout.write(`relaying on ${relay.port}\n`);
  process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
}
