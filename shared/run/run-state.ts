/** The states of a run. `lost` is only ever seen by a client whose run's state vanished. */
export const RUN_STATES = ['submitting', 'mapping', 'reducing', 'done', 'failed', 'done_with_failures', 'cancelled', 'lost'] as const;

export type RunState = (typeof RUN_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<RunState> = new Set(['done', 'failed', 'done_with_failures', 'cancelled', 'lost']);

/** States in which map tasks may still commit. */
export const MAPPING_STATES: ReadonlySet<RunState> = new Set(['submitting', 'mapping']);

/** States whose results can be read. */
export const RESULT_STATES: ReadonlySet<RunState> = new Set(['done', 'done_with_failures']);

/** States `retry` moves back to `mapping`. */
export const RETRYABLE_STATES: ReadonlySet<RunState> = new Set(['failed', 'done_with_failures']);

export function isRunState(value: unknown): value is RunState {
  return typeof value === 'string' && (RUN_STATES as readonly string[]).includes(value);
}

export const UNKNOWN_RUN_TEXT = 'unknown (never existed, cleaned, expired or lost)';
