/**
 * The error catalogue. Every error redmap raises is a RedmapError with a stable
 * `code`; docs/errors.md lists each code with its cause and its fix.
 */

export type ErrorCode =
  | 'USAGE'
  | 'INVALID_OPTION'
  | 'JOB_NOT_FOUND'
  | 'JOB_INVALID'
  | 'INPUT_INVALID'
  | 'INPUT_CHANGED'
  | 'MAP_OUTPUT_INVALID'
  | 'NON_RETRYABLE'
  | 'CALL_TIMEOUT'
  | 'TASK_STALLED'
  | 'STAGE_LOST'
  | 'REDIS_UNREACHABLE'
  | 'REDIS_MISCONFIGURED'
  | 'REDIS_OUT_OF_MEMORY'
  | 'REDIS_TOO_FEW_REPLICAS'
  | 'RUN_NOT_FOUND'
  | 'RUN_EXISTS'
  | 'RUN_STATE'
  | 'RUN_LOST'
  | 'SINK_FAILED';

export interface RedmapErrorOptions {
  cause?: unknown;
}

export class RedmapError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: RedmapErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** A command line or option value that cannot be used as given. */
export class UsageError extends RedmapError {
  constructor(message: string, options?: RedmapErrorOptions) {
    super('USAGE', message, options);
  }
}

/** An option (flag, function option or job setting) whose value is invalid. */
export class InvalidOptionError extends RedmapError {
  readonly option: string;

  constructor(option: string, message: string, options?: RedmapErrorOptions) {
    super('INVALID_OPTION', message, options);
    this.option = option;
  }
}

/** A job file that does not exist, or whose export is not a usable job. */
export class JobDefinitionError extends RedmapError {
  constructor(code: 'JOB_NOT_FOUND' | 'JOB_INVALID', message: string, options?: RedmapErrorOptions) {
    super(code, message, options);
  }
}

/** An input item the job's schema rejects, or that cannot travel as JSON. */
export class InputError extends RedmapError {
  readonly index: number;

  constructor(index: number, message: string, options?: RedmapErrorOptions) {
    super('INPUT_INVALID', message, options);
    this.index = index;
  }
}

/**
 * Thrown by user code (or by redmap for output that can never be valid) when a
 * retry cannot help: the task fails at once, without using its other attempts.
 */
export class NonRetryableError extends RedmapError {
  constructor(message: string, options?: RedmapErrorOptions) {
    super('NON_RETRYABLE', message, options);
  }
}

/** A file's size and modification time, as recorded at submit or found later. */
export interface FileVersion {
  size: number;
  mtimeMs: number;
}

/**
 * A file input whose size or modification time differs from what was recorded when the run
 * was submitted: its byte ranges no longer cut it at the same lines, so mapping it would
 * count other bytes. Never retried.
 */
export class InputChangedError extends RedmapError {
  readonly path: string;
  readonly recorded: FileVersion;
  readonly found: FileVersion;

  constructor(path: string, recorded: FileVersion, found: FileVersion) {
    const at = (version: FileVersion) => `${version.size} bytes, modified ${new Date(version.mtimeMs).toISOString()}`;
    super(
      'INPUT_CHANGED',
      `input file ${path} changed after the run was submitted (then ${at(recorded)}; now ${at(found)}): ` +
        'its byte ranges would map other lines; submit the run again',
    );
    this.path = path;
    this.recorded = recorded;
    this.found = found;
  }
}

/** Where a task's error happened, as far as the code that raised it knows. */
export interface TaskErrorOptions extends RedmapErrorOptions {
  runId?: string;
  /** The map task (`c3`) or reduce partition (`r1`). */
  taskId?: string;
  /** The input item's position in its task. */
  item?: number;
  attempt?: number;
}

/** An error of one task, with the run, task, item and attempt it happened in where known. */
export abstract class TaskError extends RedmapError {
  readonly runId: string | undefined;
  readonly taskId: string | undefined;
  readonly item: number | undefined;
  readonly attempt: number | undefined;

  constructor(code: ErrorCode, message: string, options: TaskErrorOptions = {}) {
    super(code, message, options);
    this.runId = options.runId;
    this.taskId = options.taskId;
    this.item = options.item;
    this.attempt = options.attempt;
  }
}

/** A key or value emitted by `map` or `combine` that cannot be stored; never retried. */
export class MapOutputError extends TaskError {
  constructor(message: string, options?: TaskErrorOptions) {
    super('MAP_OUTPUT_INVALID', message, options);
  }
}

/** A map call that ran past its call timeout. */
export class CallTimeoutError extends TaskError {
  constructor(message: string, options?: TaskErrorOptions) {
    super('CALL_TIMEOUT', message, options);
  }
}

/** A task whose worker died or stopped answering more often than allowed. */
export class TaskStalledError extends TaskError {
  constructor(message: string, options?: TaskErrorOptions) {
    super('TASK_STALLED', message, options);
  }
}

/**
 * Output an attempt staged in Redis was gone, whole or in part, when the attempt came to
 * commit it (a write acknowledged, then lost: a restart with `appendfsync everysec`, a
 * failover). Nothing is adopted and the task runs again.
 */
export class StagedOutputLostError extends RedmapError {
  readonly runId: string;
  /** The map task (`c3`) or reduce partition (`r1`) whose staged output was lost. */
  readonly taskId: string;

  constructor(runId: string, taskId: string, found: number, expected: number) {
    super(
      'STAGE_LOST',
      `run ${runId}, task ${taskId}: ${found} of the ${expected} staged output batches were in Redis at commit; Redis lost acknowledged writes, so the task runs again`,
    );
    this.runId = runId;
    this.taskId = taskId;
  }
}

export type RedisErrorCode = 'REDIS_UNREACHABLE' | 'REDIS_MISCONFIGURED' | 'REDIS_OUT_OF_MEMORY' | 'REDIS_TOO_FEW_REPLICAS';

/** Redis cannot be used: unreachable, misconfigured, full, or without the replicas a run asks for. */
export class RedisError extends RedmapError {
  constructor(code: RedisErrorCode, message: string, options?: RedmapErrorOptions) {
    super(code, message, options);
  }
}

export type RunErrorCode = 'RUN_NOT_FOUND' | 'RUN_EXISTS' | 'RUN_STATE' | 'RUN_LOST';

/** An action on a run that its existence or state does not allow. */
export class RunError extends RedmapError {
  readonly runId: string;

  constructor(code: RunErrorCode, runId: string, message: string, options?: RedmapErrorOptions) {
    super(code, message, options);
    this.runId = runId;
  }
}

/**
 * A reduce partition could not be written to its PostgreSQL sink (unreachable, refused the
 * credentials, a table of another shape). Nothing of the partition is committed; the task is
 * retried, and fails the run after its last attempt.
 */
export class SinkError extends RedmapError {
  /** The sink's table as given (`schema.table` or `table`). */
  readonly table: string;

  constructor(table: string, message: string, options?: RedmapErrorOptions) {
    super('SINK_FAILED', message, options);
    this.table = table;
  }
}

/** True for errors that no retry can fix. */
export function isNonRetryable(error: unknown): boolean {
  if (error instanceof NonRetryableError || error instanceof MapOutputError) return true;
  if (error instanceof InputError || error instanceof InputChangedError) return true;
  // A job module loaded through another copy of redmap has its own classes.
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return code === 'NON_RETRYABLE' || code === 'MAP_OUTPUT_INVALID' || code === 'INPUT_INVALID' || code === 'INPUT_CHANGED';
}

/** A short, single-line description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
