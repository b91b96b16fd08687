/**
 * `redmap run` forks its worker processes before the rest of the command loads. A worker
 * process takes about as long to start (Node, our modules, the vendored packages) as this
 * process takes to reach the point where it could hand it a configuration; started first,
 * the two load side by side on two cores instead of one after the other. A forked process
 * waits for its configuration over IPC; the Supervisor adopts it and sends it. One never
 * adopted (a usage error, `--local`) exits when this process does, as its channel closes.
 * It loads nothing but Node's own modules: main.ts calls it before the command line loads.
 * `redmap worker` does not pre-fork: it installs its SIGTERM handler before any process
 * starts, so that a SIGTERM during start-up drains them and exits 0.
 */
import { fork, type ChildProcess, type StdioOptions } from 'node:child_process';
import { availableParallelism } from 'node:os';

export const WORKER_ENTRY = new URL(`./worker-process${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
/** stdout piped (the supervisor sends it to stderr: the parent's stdout carries results only), IPC for heartbeats. */
export const WORKER_STDIO: StdioOptions = ['ignore', 'pipe', 'inherit', 'ipc'];

const preforked: ChildProcess[] = [];

/**
 * How many worker processes `argv` (after `redmap`) will want before they are known: those of
 * `run --workers N` (at most one per CPU), one for a `run` without it, none for anything else.
 * A wrong guess only costs a process that exits, or one forked later as before.
 */
export function preforkCount(argv: readonly string[]): number {
  if (argv[0] !== 'run' || argv.some((arg) => arg === '--local' || arg === '--help' || arg === '-h')) return 0;
  let workers: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--workers' || arg === '-w') workers = argv[i + 1];
    else if (arg.startsWith('--workers=')) workers = arg.slice('--workers='.length);
  });
  const asked = Number(workers);
  return Number.isInteger(asked) && asked >= 1 ? Math.min(asked, availableParallelism()) : 1;
}

/** Forks `count` worker processes that wait for their configuration; they keep nothing alive. */
export function preforkWorkers(count: number): void {
  for (let i = 0; i < count; i++) {
    const child = fork(WORKER_ENTRY, [], { stdio: WORKER_STDIO });
    child.unref();
    child.channel?.unref();
    preforked.push(child);
  }
}

/** A pre-forked worker process still waiting for its configuration, now held like any child; or none. */
export function takePreforkedWorker(): ChildProcess | undefined {
  for (let child = preforked.shift(); child; child = preforked.shift()) {
    if (child.exitCode !== null || child.signalCode !== null || !child.connected) continue;
    child.ref();
    child.channel?.ref();
    return child;
  }
  return undefined;
}
