/**
 * A redis-server that speaks TLS only, with ACL users, for the security tests: a private
 * CA and a server certificate made with openssl in a temp folder, and the users an ACL
 * file lists.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';
import { waitFor } from './wait-for.js';

export interface TlsRedisServer {
  port: number;
  /** The CA bundle that signed the server certificate. */
  caFile: string;
  /** The password of the `default` user, which may do anything. */
  adminPassword: string;
  /** A client logged in as `default`, for looking at the server from the test. */
  admin(): Promise<Redis>;
  stop(): Promise<void>;
}

/** The password of the `default` user, which the tests use to look at the server. */
const ADMIN_PASSWORD = 'admin-test-password';

/**
 * Starts a TLS-only redis-server on 127.0.0.1 whose certificate lists `127.0.0.1` and
 * `localhost`, with the given ACL file lines (plus a `default` user for the test).
 */
export async function startTlsRedis(aclLines: string[]): Promise<TlsRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redmap-tls-'));
  const { caFile, certFile, keyFile } = makeCertificates(dir);
  const aclFile = join(dir, 'users.acl');
  writeFileSync(aclFile, [`user default on >${ADMIN_PASSWORD} ~* &* +@all`, ...aclLines].join('\n') + '\n');
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      ...['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
      ...['--maxmemory-policy', 'noeviction', '--aclfile', aclFile],
      ...['--tls-cert-file', certFile, '--tls-key-file', keyFile, '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no'],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const admin = async (): Promise<Redis> => {
    const client = new Redis({
      port,
      host: '127.0.0.1',
      password: ADMIN_PASSWORD,
      tls: { ca: readFileSync(caFile) },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForServer(admin, () => (child.exitCode === null ? undefined : `redis-server with TLS exited: ${stderr}`));
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, caFile, adminPassword: ADMIN_PASSWORD, admin, stop };
}

/** A private CA and a server certificate for 127.0.0.1 and localhost, signed by it. */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=redmap test CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  openssl(['req', ...ec, '-subj', '/CN=localhost', '-keyout', file('server.key'), '-out', file('server.csr')]);
  openssl([
    ...['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial'],
    ...['-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem')],
  ]);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}

function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error) throw new Error(`openssl is needed to make test certificates (apt install openssl): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

async function waitForServer(admin: () => Promise<Redis>, exited: () => string | undefined): Promise<void> {
  // A server that exited ends the wait at once; one still starting refuses connections.
  const { failure } = await waitFor(
    'the TLS redis-server to answer its admin',
    async () => {
      const failure = exited();
      if (!failure) (await admin()).disconnect();
      return { failure };
    },
    { timeoutMs: 10_000, intervalMs: 100, retryErrors: true },
  );
  if (failure) throw new Error(failure);
}
