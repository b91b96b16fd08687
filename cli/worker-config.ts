/**
 * What a supervisor and its worker processes say to each other: the configuration a
 * worker process starts with (in its environment) and the messages it sends back.
 */
import { z } from 'zod';
import { ISOLATION_MODES } from '../worker/isolation/isolation.js';
import type { MetricsSnapshot } from './metrics/metrics-snapshot.js';

export const WORKER_CONFIG_ENV = 'REDMAP_WORKER_CONFIG';

export const workerProcessConfigSchema = z.object({
  jobPath: z.string(),
  prefix: z.string(),
  concurrency: z.number().int().min(1),
  lockDurationMs: z.number().int().min(1000),
  stalledIntervalMs: z.number().int().min(100),
  graceMs: z.number().int().min(0),
  isolation: z.enum(ISOLATION_MODES),
  logLevel: z.string(),
  logFormat: z.enum(['pretty', 'json']),
  sweepIntervalMs: z.number().int().min(100).optional(),
  sweepStallMs: z.number().int().min(100).optional(),
  sweepReduceGraceMs: z.number().int().min(0).optional(),
  /** Whether to collect Prometheus metrics and send them with each heartbeat. */
  metrics: z.boolean().optional(),
});
export type WorkerProcessConfig = z.infer<typeof workerProcessConfigSchema>;

export type SupervisorMessage =
  | { type: 'ready'; queue: string; fingerprint: string }
  | { type: 'heartbeat'; active: number; metrics?: MetricsSnapshot }
  | { type: 'fatal'; message: string; exitCode: number };
