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
 * A child logger made on first use. A pino child costs microseconds (its bindings are
 * serialized and redacted up front), and a worker makes one per task that mostly logs nothing.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = (): Logger => (child ??= parent.child(bindings));
  return new Proxy({} as Logger, {
    get(_target, property) {
      const value: unknown = Reflect.get(real(), property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real()) : value;
    },
    set(_target, property, value) {
      return Reflect.set(real(), property, value);
    },
  });
}
