import { z } from 'zod';
import { positiveIntSchema, rateSchema } from '../data/validation.js';

/** Limits that hold across every process and machine, counted per map call. */
export const jobLimitsSchema = z.object({
  /** At most this many map calls in flight. */
  concurrency: positiveIntSchema.optional(),
  /** At most this many map calls started per second or minute, e.g. "200/s". */
  rate: z.string().optional(),
});

export type JobLimits = z.input<typeof jobLimitsSchema>;

export const parsedLimitsSchema = z.object({
  concurrency: positiveIntSchema.optional(),
  rate: rateSchema.optional(),
});
export type Limits = z.output<typeof parsedLimitsSchema>;
