/**
 * The supervisor forks N worker processes and keeps them alive. A worker whose event loop
 * stops answering (a map that busy-loops) can neither renew its task locks nor be stopped
 * from inside, so the supervisor watches a heartbeat from each and kills one that misses
 * it; the task it held then counts a stall against its tolerance (--max-stalls). A worker
 * that dies is replaced after a backoff that grows while replacements keep dying.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../shared/logger.js';
import type { MachineMetrics } from './metrics/machine-metrics.js';
import { takePreforkedWorker, WORKER_ENTRY, WORKER_STDIO } from './prefork.js';
import { WORKER_CONFIG_ENV, type StartMessage, type SupervisorMessage, type WorkerProcessConfig } from './worker-config.js';

const RESTART_BACKOFF_MS = { first: 1000, max: 30_000 };
/** Deaths in a row before a worker process was ever ready, after which starting gives up. */
const MAX_FAILED_STARTS = 5;
/** A worker that ran this long without dying resets the backoff. */
const HEALTHY_AFTER_MS = 30_000;
/**
 * Longest a new worker process may take to send its first heartbeat: it beats from the start
 * of its own code, but Node and its modules load first, which a loaded machine can stretch
 * past a heartbeat timeout meant for a map that never yields.
 */
const FIRST_BEAT_TIMEOUT_MS = 30_000;

/** Worker processes that could not start; `exitCode` is what the command exits with (cli/main.ts reads it). */
export class WorkerStartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface SupervisorOptions {
  processes: number;
  config: WorkerProcessConfig;
  /** Environment for the workers: REDIS_URL and the password travel here, never in argv. */
  env: NodeJS.ProcessEnv;
  heartbeatTimeoutMs: number;
  log: Logger;
  /** Where the workers' stdout goes; never the parent's stdout, which carries results only. */
  stdout?: NodeJS.WritableStream;
  /** Collects the metrics each worker process sends with its heartbeat. */
  metrics?: MachineMetrics;
}

interface Slot {
  child: ChildProcess | undefined;
  /** Whether the current child has sent anything yet; until then it has FIRST_BEAT_TIMEOUT_MS. */
  heard: boolean;
  lastBeat: number;
  startedAt: number;
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export class Supervisor {
  private readonly slots: Slot[] = [];
  private watchdog: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Workers killed for missing their heartbeat, and workers restarted, since start. */
  killed = 0;
  restarts = 0;

  constructor(private readonly options: SupervisorOptions) {}

  /** Starts every worker; resolves once all are serving, rejects if one cannot start at all. */
  async start(): Promise<void> {
    this.watchdog = setInterval(() => this.checkHeartbeats(), 500);
    this.watchdog.unref();
    const starts = Array.from({ length: this.options.processes }, () => {
      const slot: Slot = {
        child: undefined,
        heard: false,
        lastBeat: Date.now(),
        startedAt: Date.now(),
        failures: 0,
        restartTimer: undefined,
      };
      this.slots.push(slot);
      return this.spawn(slot);
    });
    await Promise.all(starts);
  }

  get pids(): number[] {
    return this.slots.flatMap((slot) => (slot.child?.pid === undefined ? [] : [slot.child.pid]));
  }

  /** Asks every worker to drain, and kills those still running after the grace period. */
  async stop(graceMs = this.options.config.grace): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    const exits = this.slots.map(async (slot) => {
      clearTimeout(slot.restartTimer);
      const child = slot.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ type: 'shutdown' });
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs + 5000);
      await exited;
      clearTimeout(timer);
    });
    await Promise.all(exits);
  }

  /** Kills every worker at once (a second Ctrl-C). */
  kill(): void {
    this.stopping = true;
    clearInterval(this.watchdog);
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      slot.child?.kill('SIGKILL');
    }
  }

  private spawn(slot: Slot): Promise<void> {
    const { log } = this.options;
    const child =
      this.adoptPreforked() ??
      fork(WORKER_ENTRY, [], {
        env: { ...this.options.env, [WORKER_CONFIG_ENV]: JSON.stringify(this.options.config) },
        stdio: WORKER_STDIO,
      });
    child.stdout?.pipe(this.options.stdout ?? process.stderr, { end: false });
    slot.child = child;
    slot.heard = false;
    slot.lastBeat = Date.now();
    slot.startedAt = Date.now();
    let ready = false;
    let fatal: Error | undefined;
    // Resolves once this slot serves, through however many replacements that takes; rejects
    // only on a fatal start (a bad job file, an unusable Redis), which a restart cannot fix.
    return new Promise<void>((resolve, reject) => {
      child.on('message', (message: SupervisorMessage) => {
        slot.lastBeat = Date.now();
        slot.heard = true;
        if (message.type === 'heartbeat' && message.metrics) this.options.metrics?.update(child.pid!, message.metrics);
        if (message.type === 'ready' && !ready) {
          ready = true;
          log.debug({ pid: child.pid, queue: message.queue }, 'worker process ready');
          resolve();
        } else if (message.type === 'fatal' && !ready) {
          fatal = new WorkerStartError(message.message, message.exitCode);
        }
      });
      child.on('exit', (code, signal) => {
        this.options.metrics?.retire(child.pid!);
        if (this.stopping || slot.child !== child) return resolve();
        if (fatal) return reject(fatal);
        const ranFor = Date.now() - slot.startedAt;
        slot.failures = ranFor > HEALTHY_AFTER_MS ? 1 : slot.failures + 1;
        if (!ready && slot.failures > MAX_FAILED_STARTS) {
          return reject(new WorkerStartError(`worker processes keep dying before they are ready (code ${code}, signal ${signal})`, 1));
        }
        const delay = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.first * 2 ** (slot.failures - 1));
        log.warn({ pid: child.pid, code, signal, restartInMs: delay }, 'worker process died; starting a replacement');
        slot.child = undefined;
        slot.restartTimer = setTimeout(() => {
          this.restarts++;
          const replaced = this.spawn(slot);
          if (ready) replaced.catch((error: unknown) => log.error({ err: error }, 'replacement worker could not start'));
          else replaced.then(resolve, reject);
        }, delay);
      });
    });
  }

  /** A process `run` forked before it knew the configuration (cli/prefork.ts), told it now. */
  private adoptPreforked(): ChildProcess | undefined {
    const child = takePreforkedWorker();
    if (!child) return undefined;
    child.send({ type: 'start', env: this.options.env, config: this.options.config } satisfies StartMessage);
    this.options.log.debug({ pid: child.pid }, 'worker process forked at start-up takes its configuration');
    return child;
  }

  private checkHeartbeats(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      const child = slot.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const timeoutMs = slot.heard ? this.options.heartbeatTimeoutMs : Math.max(FIRST_BEAT_TIMEOUT_MS, this.options.heartbeatTimeoutMs);
      if (now - slot.lastBeat > timeoutMs) {
        this.options.log.warn(
          { pid: child.pid, silentMs: now - slot.lastBeat },
          slot.heard
            ? 'worker process stopped answering (a map that never yields?); killing it; its task counts a stall'
            : 'worker process did not start in time (Node could not load it); killing it',
        );
        this.killed++;
        slot.lastBeat = now;
        child.kill('SIGKILL');
      }
    }
  }
}
