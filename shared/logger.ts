/**
 * Logging. The library is silent unless handed a logger; the CLI makes one: pretty on a
 * terminal, JSON lines otherwise, always on stderr (stdout carries results only).
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { PrettyStream } from 'pino-pretty';

export type { Logger };

export type LogFormat = 'pretty' | 'json';

/** Field paths whose values are never written: passwords, tokens and credentials, at the top or one level down. */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.cookie',
  'credentials',
  '*.credentials',
  'sentinelPassword',
  '*.sentinelPassword',
  'env.REDIS_PASSWORD',
  'env.REDIS_SENTINEL_PASSWORD',
  'env.REDMAP_DASHBOARD_PASSWORD',
];

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function createLogger(options: {
  format: LogFormat;
  level: string;
  base?: Record<string, unknown>;
  /** Where JSON lines go instead of stderr (tests). */
  destination?: DestinationStream;
}): Logger {
  const common = {
    level: options.level,
    base: options.base ?? {},
    redact: { paths: REDACTED_PATHS, censor: '***' },
  };
  if (options.format === 'json') return pino(common, options.destination ?? pino.destination({ fd: 2, sync: true }));
  // Loaded only for a terminal: every worker process and command starts ~20 ms sooner without it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => PrettyStream;
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY,
    ignore: 'pid,hostname',
    translateTime: 'HH:MM:ss.l',
  });
  return pino(common, stream);
}

/**
 * A child logger made on first use. A worker makes one per task, with the task's run, id
 * and attempt, and most tasks never log; pino's child() serializes and redacts its bindings
 * (5-10 µs), which was paid on every task. Reads and writes go to the child, made then.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const made = (): Logger => (child ??= parent.child(bindings));
  return new Proxy(parent, {
    get(_parent, property) {
      const target = made();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set: (_parent, property, value) => Reflect.set(made(), property, value),
    has: (_parent, property) => Reflect.has(made(), property),
  });
}
