/**
 * The worker's subscription to the control channel: cancel messages abort a run's calls
 * (each run gets an AbortSignal) and end the trust that the run is mapping (RunWatch), and
 * limits messages reach the limiter.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../shared/logger.js';
import { duplicateClient, type RedisClient } from '../shared/redis/redis-connection.js';
import { controlChannel } from '../shared/redis/redis-keys.js';
import { parseControlMessage } from '../shared/run/run-control.js';
import type { RunWatch } from '../shared/tasks/task-attempt.js';

export interface ControlSubscription {
  runSignal(runId: string): AbortSignal;
  runWatch: RunWatch;
  close(): Promise<void>;
}

/** Runs remembered as mapping, and run signals kept, at most. */
const RUNS_KEPT = 1024;

export async function subscribeControl(
  client: RedisClient,
  prefix: string,
  log: Logger,
  onLimits: () => void,
): Promise<ControlSubscription> {
  const channel = controlChannel(prefix);
  const subscriber = duplicateClient(client, 'redmap:control');
  subscriber.on('error', () => {});
  const watch = new MappingRuns();
  const controllers = new Map<string, AbortController>();
  const controllerFor = (runId: string): AbortController => {
    let controller = controllers.get(runId);
    if (!controller) {
      if (controllers.size >= RUNS_KEPT) controllers.delete(controllers.keys().next().value!);
      controller = new AbortController();
      setMaxListeners(0, controller.signal);
      controllers.set(runId, controller);
    }
    return controller;
  };
  subscriber.on('message', (_channel: string, text: string) => {
    const message = parseControlMessage(text);
    if (message?.type === 'limits') onLimits();
    if (message?.type === 'cancel') {
      watch.cancelled(message.run);
      log.info({ runId: message.run }, 'run cancelled or failed; aborting its calls');
      controllerFor(message.run).abort(new Error(`run ${message.run} was cancelled`));
      // Calls running now keep the aborted signal; a run that is retried later starts afresh.
      controllers.delete(message.run);
    }
  });
  // A message published while the connection is down is never delivered: trust nothing
  // from then on until the channel is subscribed again (confirmed by our own SUBSCRIBE).
  subscriber.on('close', () => watch.down());
  subscriber.on('ready', () => {
    const mark = watch.down();
    subscriber.subscribe(channel).then(
      () => watch.up(mark),
      () => {},
    );
  });
  await subscriber.subscribe(channel);
  watch.up(watch.down());
  return {
    runSignal: (runId) => controllerFor(runId).signal,
    runWatch: watch,
    close: async () => {
      watch.down();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

/**
 * The RunWatch of one subscription. `epoch` moves on every cancel message and every loss
 * of the connection, so a read that began before either is not trusted when it answers
 * after (its answer may predate the cancel, or the cancel may have been missed).
 */
export class MappingRuns implements RunWatch {
  private epoch = 0;
  private live = false;
  /** Run id → `incarnation/generation` found mapping. */
  private readonly mapping = new Map<string, string>();

  beforeRead(): number | undefined {
    return this.live ? this.epoch : undefined;
  }

  trust(runId: string, incarnation: string, generation: number, mark: number | undefined): void {
    if (!this.live || mark !== this.epoch) return;
    this.mapping.delete(runId);
    this.mapping.set(runId, `${incarnation}/${generation}`);
    if (this.mapping.size > RUNS_KEPT) this.mapping.delete(this.mapping.keys().next().value!);
  }

  trusts(runId: string, incarnation: string, generation: number): boolean {
    return this.live && this.mapping.get(runId) === `${incarnation}/${generation}`;
  }

  forget(runId: string): void {
    this.mapping.delete(runId);
  }

  cancelled(runId: string): void {
    this.epoch++;
    this.mapping.delete(runId);
  }

  /** The subscription may miss messages from now on; returns the epoch that `up` needs. */
  down(): number {
    this.live = false;
    this.mapping.clear();
    return ++this.epoch;
  }

  /** Subscribed again; unless the connection dropped since `mark`, messages arrive from now on. */
  up(mark: number): void {
    if (mark === this.epoch) this.live = true;
  }
}
