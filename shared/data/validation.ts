import { z } from 'zod';
import { DURATION_HINT, parseDuration, parseRate, RATE_HINT, type Rate } from './durations.js';
import { InvalidOptionError } from '../errors.js';

/** "option: expected …, got …" for each zod issue, joined into one line. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Parses `value` with `schema`, or throws an InvalidOptionError naming `option` and what was given. */
export function parseOption<T extends z.ZodType>(option: string, schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new InvalidOptionError(option, `${option}: ${formatIssues(parsed.error.issues)} (got ${show(value)})`);
}

/** A value as a short string for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === undefined) return 'nothing';
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/** Milliseconds, given as a number of ms or a string such as "30s". */
export const durationSchema = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT}` });
    return z.NEVER;
  }
  return ms;
});

/** A rate such as "200/s", with a count above zero. */
export const rateSchema = z.string().transform((value, ctx): Rate => {
  const rate = parseRate(value);
  if (rate === undefined || rate.count <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected ${RATE_HINT}, above zero` });
    return z.NEVER;
  }
  return rate;
});

export const positiveIntSchema = z.number().int('expected a whole number').min(1, 'expected at least 1');
