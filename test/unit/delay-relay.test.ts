import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HIGH_WATER_BYTES, startDelayRelay, type DelayRelay } from '../support/delay-relay.js';

const DELAY_MS = 20;
const toClose: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

/** A target server on a free port of 127.0.0.1 that keeps half-open connections. */
async function startTarget(onConnection: (socket: Socket) => void): Promise<number> {
  const server: Server = createServer({ allowHalfOpen: true }, onConnection);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  toClose.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

async function relayTo(targetPort: number, delayMs = DELAY_MS): Promise<DelayRelay> {
  const relay = await startDelayRelay({ listenPort: 0, targetHost: '127.0.0.1', targetPort, delayMs });
  toClose.push(() => relay.close());
  return relay;
}

function connectTo(port: number): Socket {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  toClose.push(async () => void socket.destroy());
  return socket;
}

/** Everything `socket` receives until the other side ends it. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Bytes that differ at every offset, so a chunk out of order or lost shows. */
function pattern(bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) buffer.writeUInt32LE(i, i);
  return buffer;
}

const sha = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');

describe('the delay relay', () => {
  it('passes every byte on in order, both ways, holding each chunk the delay each way', async () => {
    // An echo server that ends when the client has.
    const relay = await relayTo(await startTarget((socket) => socket.pipe(socket)));
    const client = connectTo(relay.port);
    const received = readAll(client);
    const started = performance.now();
    client.write('ping');
    await new Promise((resolve) => client.once('data', resolve));
    expect(performance.now() - started, 'a round trip takes the delay twice').toBeGreaterThanOrEqual(2 * DELAY_MS - 2);
    const sent = pattern(8 << 20);
    for (let offset = 0; offset < sent.length; offset += 100_003) client.write(sent.subarray(offset, offset + 100_003));
    client.end();
    expect(sha(await received)).toBe(sha(Buffer.concat([Buffer.from('ping'), sent])));
  });

  it("a half-close reaches the other side after the data before it, and the other side's answer still comes back", async () => {
    const relay = await relayTo(
      await startTarget((socket) => {
        let bytes = 0;
        socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
        socket.on('end', () => socket.end(`got ${bytes} bytes`));
      }),
    );
    const client = connectTo(relay.port);
    const answer = readAll(client);
    client.write('hello');
    client.end(' world');
    expect((await answer).toString()).toBe('got 11 bytes');
  });

  it('stops reading from a sender while the receiver does not read, holding about HIGH_WATER_BYTES, and loses nothing', async () => {
    let target: Socket | undefined;
    const relay = await relayTo(
      await startTarget((socket) => {
        socket.pause();
        target = socket;
      }),
      5,
    );
    const client = connectTo(relay.port);
    const sent = pattern(32 << 20);
    client.end(sent);
    await sleep(500);
    expect(relay.heldBytes()).toBeGreaterThan(0);
    expect(relay.heldBytes()).toBeLessThanOrEqual(HIGH_WATER_BYTES + (256 << 10));
    const received = readAll(target!);
    target!.resume();
    expect(sha(await received)).toBe(sha(sent));
    expect(relay.heldBytes()).toBe(0);
  });

  it('an abrupt close on one side closes the other, after the delay', async () => {
    const relay = await relayTo(await startTarget((socket) => socket.once('data', () => socket.resetAndDestroy())));
    const client = connectTo(relay.port);
    client.on('error', () => {});
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.write('anything');
    await closed;
  });

  it('a target that refuses the connection closes the client', async () => {
    // A port that was just free: nothing listens on it.
    const port = await startTarget(() => {});
    await toClose.pop()!();
    const relay = await relayTo(port);
    const client = connectTo(relay.port);
    client.on('error', () => {});
    await new Promise((resolve) => client.once('close', resolve));
  });
});
