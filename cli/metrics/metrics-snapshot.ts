/**
 * Metrics as they cross from a worker process to its supervisor: prom-client's JSON form
 * (`getMetricsAsJSON`), checked on arrival like any message from another process.
 */
import { z } from 'zod';

export const metricsSnapshotSchema = z.array(
  z.object({
    name: z.string(),
    help: z.string(),
    type: z.enum(['counter', 'gauge', 'histogram', 'summary']),
    aggregator: z.enum(['omit', 'sum', 'first', 'min', 'max', 'average']),
    values: z.array(
      z.object({
        value: z.number(),
        labels: z.record(z.string(), z.union([z.string(), z.number()])),
        metricName: z.string().optional(),
      }),
    ),
  }),
);

export type MetricsSnapshot = z.infer<typeof metricsSnapshotSchema>;
