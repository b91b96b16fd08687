/**
 * Entry of an isolate: a worker thread or child process that runs a job's map calls, so a
 * call that never yields can be stopped from outside (the pool terminates the isolate).
 * It loads the job file itself, then answers one call at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../shared/logger.js';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { readHandoff } from '../../shared/config.js';
import { ISOLATE_SETUP_ENV, type IsolateReply, type IsolateRequest, type IsolateSetup } from './isolation.js';

const setup = (workerData ?? readHandoff(ISOLATE_SETUP_ENV)) as IsolateSetup;
const send = (reply: IsolateReply): void => {
  if (parentPort) parentPort.postMessage(reply);
  else process.send?.(reply);
};
const log = createLogger({ format: setup.logFormat, level: setup.logLevel, base: { pid: process.pid, isolate: true } });

const loaded = loadJobFile(setup.jobPath).then(({ job }) => job);
let current: AbortController | undefined;

async function handle(request: IsolateRequest): Promise<void> {
  if (request.type === 'abort') {
    current?.abort(new Error(request.reason));
    return;
  }
  current = new AbortController();
  try {
    const job = await loaded;
    const context = {
      ...request.context,
      signal: current.signal,
      // The same fields as the worker's own task lines, so a task's lines can be followed across isolates.
      log: log.child({ runId: request.context.runId, taskId: request.context.taskId, phase: 'map', attempt: request.context.attempt }),
    };
    const output = await job.map(request.item, context);
    const pairs: unknown[] = [];
    if (output && typeof output === 'object' && Symbol.asyncIterator in output) {
      for await (const pair of output as AsyncIterable<unknown>) pairs.push(pair);
    } else if (output && typeof output === 'object' && Symbol.iterator in output) {
      for (const pair of output as Iterable<unknown>) pairs.push(pair);
    } else {
      send({ type: 'result', output });
      return;
    }
    send({ type: 'result', output: pairs });
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    send({
      type: 'error',
      error: { name: failure.name, message: failure.message, stack: failure.stack, code: (failure as { code?: unknown }).code },
    });
  } finally {
    current = undefined;
  }
}

const onMessage = (request: IsolateRequest): void => void handle(request);
if (parentPort) parentPort.on('message', onMessage);
else {
  process.on('message', onMessage);
  process.on('disconnect', () => process.exit(0)); // its worker is gone
}
void loaded.then(
  () => send({ type: 'ready' }),
  (error: unknown) =>
    send({ type: 'error', error: { name: 'JobDefinitionError', message: (error as Error).message, code: 'JOB_INVALID' } }),
);
