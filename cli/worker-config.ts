/**
 * What a supervisor and its worker processes say to each other: the configuration a
 * worker process starts with (in its environment, or in a start message if it was forked
 * before the configuration was known) and the messages it sends back.
 */
import { z } from 'zod';
import { graceSchema, workerOptionsSchema } from '../runtime/worker-options.js';
import type { MetricsSnapshot } from './metrics/metrics-snapshot.js';

export const WORKER_CONFIG_ENV = 'REDMAP_WORKER_CONFIG';

/** The worker's options (durations in ms), and what only a worker process needs besides. */
export const workerProcessConfigSchema = workerOptionsSchema.extend({
  jobPath: z.string(),
  grace: graceSchema,
  logLevel: z.string(),
  logFormat: z.enum(['pretty', 'json']),
  sweepIntervalMs: z.number().int().min(100).optional(),
  sweepStallMs: z.number().int().min(100).optional(),
  sweepReduceGraceMs: z.number().int().min(0).optional(),
  /** Whether to collect Prometheus metrics and send them with each heartbeat. */
  metrics: z.boolean().optional(),
});
export type WorkerProcessConfig = z.output<typeof workerProcessConfigSchema>;

/** What a pre-forked worker process (cli/prefork.ts) waits for instead of finding it in its environment. */
export interface StartMessage {
  type: 'start';
  env: NodeJS.ProcessEnv;
  config: WorkerProcessConfig;
}

export type SupervisorMessage =
  | { type: 'ready'; queue: string; fingerprint: string }
  | { type: 'heartbeat'; active: number; metrics?: MetricsSnapshot }
  | { type: 'fatal'; message: string; exitCode: number };
