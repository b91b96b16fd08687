/**
 * What a Redis says to a connection it refuses. A server in protected mode (no password,
 * reached over a non-loopback address) or at maxclients writes an error and hangs up at
 * once; ioredis, writing its first command meanwhile, reports only "Connection is closed."
 * or EPIPE. Asked again on a plain connection, the server's own words say what to change.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions as TlsOptions } from 'node:tls';

/**
 * The error line the server sends before it hangs up (without its leading "-"), or undefined
 * if it answers, asks for a password, or says nothing.
 */
export function serverRefusal(target: { host: string; port: number; tls?: TlsOptions }, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket: Socket = target.tls
      ? connectTls({ host: target.host, port: target.port, ...target.tls })
      : connectTcp({ host: target.host, port: target.port });
    let received = '';
    const finish = (refusal: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(refusal);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on(target.tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n');
      // An answer, or the error of a server that wants a password (it stays connected for the
      // AUTH): no refusal. A refusal is an error followed by the server hanging up.
      if (end >= 0 && (!received.startsWith('-') || received.startsWith('-NOAUTH'))) finish(undefined);
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(received.startsWith('-') ? received.slice(1).split('\r\n')[0] : undefined));
  });
}
