/**
 * What every command shares: the environment (read once), the logger, a way to say a
 * line on stderr, and opening Redis as the command-line contract describes.
 */
import { readEnvironment, type Environment } from '../shared/config.js';
import { UsageError } from '../shared/errors.js';
import { createLogger, type LogFormat, type Logger } from '../shared/logger.js';
import { DEFAULT_KEY_PREFIX } from '../shared/redis/redis-keys.js';
import { stringFlag, type ParsedArgs } from './args.js';
import { resolveCliRedis, type CliRedis } from './redis-resolution.js';

export interface CommandContext {
  environment: Environment;
  log: Logger;
  logFormat: LogFormat;
  logLevel: string;
  prefix: string;
  /** A line for people on stderr (a pino line when logs are JSON). */
  say(line: string): void;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function createContext(args: ParsedArgs, environment: Environment = readEnvironment()): CommandContext {
  const format = stringFlag(args, 'log-format') ?? environment.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty' && format !== 'json')
    throw new UsageError(`--log-format: expected pretty or json, got ${JSON.stringify(format)}`);
  const level = stringFlag(args, 'log-level') ?? environment.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const prefix = stringFlag(args, 'prefix') ?? environment.prefix ?? DEFAULT_KEY_PREFIX;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix))
    throw new UsageError(`--prefix: expected 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(prefix)}`);
  const log = createLogger({ format, level });
  return {
    environment,
    log,
    logFormat: format,
    logLevel: level,
    prefix,
    say: (line) => {
      if (format === 'json') log.info({}, line);
      else process.stderr.write(`redmap: ${line}\n`);
    },
  };
}

export async function openCliRedis(ctx: CommandContext, args: ParsedArgs, mayStartPrivate: boolean, role: string): Promise<CliRedis> {
  const redis = await resolveCliRedis(ctx.environment, {
    flags: { url: stringFlag(args, 'redis'), caFile: stringFlag(args, 'redis-ca') },
    mayStartPrivate,
    connectionName: `redmap:${role}`,
    say: ctx.say,
  });
  return redis;
}
