/**
 * `--isolation thread|process`: map calls run in a pool of worker threads or child
 * processes. A timer cannot interrupt a call that never yields in its own thread; an
 * isolate can be terminated from outside. When a call's signal aborts (call timeout,
 * cancel), its isolate is terminated and replaced, and the call fails at once.
 *
 * The cost is a message round trip per call, structured-clone copies of the item and the
 * output, and the memory and start-up of each isolate (bench/RESULTS.md has numbers).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { childEnvironment } from '../../shared/config.js';
import type { MapContext } from '../../shared/job/job-definition.js';
import type { LogFormat } from '../../shared/logger.js';
import type { MapCallPlace, MapInvoker } from '../map-task.js';

export const ISOLATION_MODES = ['none', 'thread', 'process'] as const;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

export interface IsolateSetup {
  jobPath: string;
  logLevel: string;
  logFormat: LogFormat;
}

export type IsolateRequest =
  { type: 'call'; item: unknown; context: Pick<MapContext, 'runId' | 'taskId' | 'attempt'> } | { type: 'abort'; reason: string };

export type IsolateReply =
  | { type: 'ready' }
  | { type: 'result'; output: unknown }
  | { type: 'error'; error: { name: string; message: string; stack?: string; code?: unknown } };

/** An error thrown in an isolate, rebuilt on this side with its name, message, stack and code. */
export class IsolateError extends Error {
  readonly code: unknown;

  constructor(thrown: Extract<IsolateReply, { type: 'error' }>['error']) {
    super(thrown.message);
    this.name = thrown.name;
    if (thrown.stack !== undefined) this.stack = thrown.stack;
    this.code = thrown.code;
  }
}

/** The variable a process isolate finds its setup in. */
export const ISOLATE_SETUP_ENV = 'REDMAP_ISOLATE';

const ENTRY = new URL(`./isolate-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const THREAD_BOOTSTRAP = new URL('./isolate-thread.mjs', import.meta.url);

/** One thread or process, running one call at a time. */
interface Isolate {
  /** Settles once the isolate has loaded the job (or failed to). */
  readonly ready: Promise<void>;
  /** True once the thread or process is gone. */
  readonly gone: boolean;
  call(request: Extract<IsolateRequest, { type: 'call' }>): Promise<unknown>;
  abort(reason: string): void;
  terminate(): void;
}

export class IsolatePool implements MapInvoker {
  private readonly idle: Isolate[] = [];
  private readonly all = new Set<Isolate>();

  constructor(
    private readonly mode: Exclude<IsolationMode, 'none'>,
    private readonly setup: IsolateSetup,
  ) {}

  /** A ready isolate: an idle one, or a new one once it has loaded the job. */
  async acquire(signal: AbortSignal): Promise<MapCallPlace> {
    signal.throwIfAborted();
    const isolate = this.idle.pop() ?? this.spawn();
    try {
      // A cancel stops the wait for an isolate still loading the job, too.
      await raceSignal(isolate.ready, signal);
    } catch (error) {
      this.discard(isolate);
      throw error;
    }
    let healthy = true;
    return {
      call: async (item, context) => {
        const onAbort = (): void => {
          // A call that yields could stop by itself; one that does not must be stopped from outside.
          healthy = false;
          isolate.abort(String((context.signal.reason as Error)?.message ?? 'aborted'));
          this.discard(isolate);
        };
        context.signal.throwIfAborted();
        context.signal.addEventListener('abort', onAbort, { once: true });
        try {
          return await isolate.call({
            type: 'call',
            item,
            context: { runId: context.runId, taskId: context.taskId, attempt: context.attempt },
          });
        } catch (error) {
          if (isolate.gone) healthy = false;
          throw error;
        } finally {
          context.signal.removeEventListener('abort', onAbort);
        }
      },
      release: () => {
        if (healthy && !isolate.gone) this.idle.push(isolate);
        else this.discard(isolate);
      },
    };
  }

  close(): void {
    for (const isolate of this.all) isolate.terminate();
    this.all.clear();
    this.idle.length = 0;
  }

  private discard(isolate: Isolate): void {
    isolate.terminate();
    this.all.delete(isolate);
    const index = this.idle.indexOf(isolate);
    if (index !== -1) this.idle.splice(index, 1);
  }

  private spawn(): Isolate {
    const isolate = this.mode === 'thread' ? threadIsolate(this.setup) : processIsolate(this.setup);
    this.all.add(isolate);
    return isolate;
  }
}

function raceSignal(ready: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    ready.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The request/reply protocol over any channel; `gone` rejects the call in flight. */
function isolateOver(
  post: (request: IsolateRequest) => void,
  listen: (onReply: (reply: IsolateReply) => void, onGone: (error: Error) => void) => void,
  terminate: () => void,
): Isolate {
  let pending: { resolve(output: unknown): void; reject(error: Error): void } | undefined;
  let gone: Error | undefined;
  let markReady!: () => void;
  let failReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});
  listen(
    (reply) => {
      if (reply.type === 'ready') return markReady();
      const call = pending;
      pending = undefined;
      const error = reply.type === 'error' ? new IsolateError(reply.error) : undefined;
      if (!call && error) return failReady(error); // the job failed to load
      if (reply.type === 'result') call?.resolve(reply.output);
      else call?.reject(error!);
    },
    (error) => {
      gone = error;
      failReady(error);
      pending?.reject(error);
      pending = undefined;
    },
  );
  return {
    ready,
    get gone() {
      return gone !== undefined;
    },
    call(request) {
      if (gone) return Promise.reject(gone);
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        post(request);
      });
    },
    abort(reason) {
      if (!gone) post({ type: 'abort', reason });
      pending?.reject(new Error(reason));
      pending = undefined;
    },
    terminate,
  };
}

function threadIsolate(setup: IsolateSetup): Isolate {
  const worker = new Worker(THREAD_BOOTSTRAP, { workerData: { ...setup, entry: ENTRY.href }, stdout: false, stderr: false });
  worker.unref();
  return isolateOver(
    (request) => worker.postMessage(request),
    (onReply, onGone) => {
      worker.on('message', onReply);
      worker.on('error', onGone);
      worker.on('exit', (code) => onGone(new Error(`the isolate thread exited (code ${code})`)));
    },
    () => void worker.terminate(),
  );
}

function processIsolate(setup: IsolateSetup): Isolate {
  const child: ChildProcess = fork(ENTRY, [], {
    env: childEnvironment({ [ISOLATE_SETUP_ENV]: JSON.stringify(setup) }),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.unref();
  child.channel?.unref();
  return isolateOver(
    (request) => child.connected && child.send(request),
    (onReply, onGone) => {
      child.on('message', onReply);
      child.on('exit', (code, signal) => onGone(new Error(`the isolate process exited (code ${code}, signal ${signal})`)));
    },
    () => void child.kill('SIGKILL'),
  );
}
