/**
 * What a failure to use Redis means for the person running redmap: each ioredis, TLS or
 * server error becomes a RedisError (exit code 5) whose message says what is wrong and
 * what to change. Messages name the server without its password.
 */
import { RedisError, UsageError, type RedisErrorCode } from '../errors.js';

export interface RedisTarget {
  /** The server as shown to people (describeRedis: never with the password). */
  where: string;
  username: string | undefined;
}

/** An error a server sent as it closed a new connection (redis-greeting.ts), in its own words. */
export class ServerRefusal extends Error {}

/**
 * `target` is the server the error came from, when known; without it (an error that
 * reached the top of a command) the message speaks of "Redis" and "the Redis user".
 */
export function toRedisError(thrown: unknown, target?: RedisTarget): Error {
  if (thrown instanceof RedisError || thrown instanceof UsageError) return thrown;
  const error = refusalBehind(thrown);
  const message = error instanceof Error ? error.message : String(error);
  const reason = firstLine(message);
  const where = target ? `Redis at ${target.where}` : 'Redis';
  const user = !target ? 'the Redis user' : target.username === undefined ? 'the default user' : `the user "${target.username}"`;
  const fail = (code: RedisErrorCode, text: string): RedisError => new RedisError(code, text, { cause: error });

  if (/All sentinels are unreachable/.test(message)) return sentinelError(message, target?.where ?? 'REDIS_URL', reason, fail);
  if (/OOM command not allowed/.test(message)) {
    return fail(
      'REDIS_OUT_OF_MEMORY',
      `${where} is out of memory (maxmemory reached, policy noeviction): raise maxmemory or clean old runs (redmap clean --older-than 1d)`,
    );
  }
  if (/WRONGPASS|invalid username-password/i.test(message)) {
    return fail(
      'REDIS_MISCONFIGURED',
      `${where} refused ${user} and its password (${reason}): check REDIS_USERNAME and REDIS_PASSWORD ` +
        '(or REDIS_PASSWORD_FILE, or the user and password in REDIS_URL)',
    );
  }
  if (/NOAUTH/.test(message)) {
    return fail(
      'REDIS_MISCONFIGURED',
      `${where} needs a password (${reason}): set REDIS_PASSWORD or REDIS_PASSWORD_FILE, and REDIS_USERNAME for an ACL user`,
    );
  }
  if (/NOPERM/.test(message)) {
    return fail(
      'REDIS_MISCONFIGURED',
      `${where} refused ${user} a command, key or channel redmap needs (${reason}): grant the ACL rules in ` +
        'docs/security.md (its commands, keys ~redmap:* and channels &redmap:*, or your REDMAP_PREFIX instead of redmap)',
    );
  }
  if (isCertificateError(error, message)) {
    return fail(
      'REDIS_MISCONFIGURED',
      `cannot verify the TLS certificate of ${where} (${reason}): set REDIS_CA_FILE (or --redis-ca) to the CA bundle ` +
        'that signed it, and connect by a name or address the certificate lists',
    );
  }
  if (/MISCONF|READONLY/.test(message)) {
    return fail('REDIS_MISCONFIGURED', `${where} refuses writes (${reason})`);
  }
  if (error instanceof ServerRefusal) {
    return fail('REDIS_MISCONFIGURED', `${where} refused the connection, saying: ${reason}`);
  }
  return fail('REDIS_UNREACHABLE', `cannot reach ${where} (${reason}): start redis-server or set REDIS_URL`);
}

/** ioredis tried every Sentinel of a redis+sentinel:// URL; the last one's answer says why. */
function sentinelError(
  message: string,
  where: string,
  reason: string,
  fail: (code: RedisErrorCode, text: string) => RedisError,
): RedisError {
  if (/No such master with that name/.test(message)) {
    return fail('REDIS_MISCONFIGURED', `the Sentinels of ${where} know no master by that name (${reason}): check the name after the hosts`);
  }
  if (/WRONGPASS|NOAUTH|invalid username-password/i.test(message)) {
    return fail(
      'REDIS_MISCONFIGURED',
      `the Sentinels of ${where} refused their password (${reason}): set REDIS_SENTINEL_PASSWORD or REDIS_SENTINEL_PASSWORD_FILE`,
    );
  }
  return fail('REDIS_UNREACHABLE', `no Sentinel of ${where} answers (${reason}): check their hosts and ports, or start them`);
}

/** True for a server reply refusing the user or one of its commands, keys or channels. */
export function isAccessRefused(error: unknown): boolean {
  const refusal = refusalBehind(error);
  return refusal instanceof Error && /^(NOPERM|WRONGPASS|NOAUTH)\b/.test(refusal.message);
}

/**
 * A transaction with a refused command fails as a whole with EXECABORT; ioredis keeps the
 * refusals as `previousErrors`. The first of them says what is wrong; otherwise the error.
 */
function refusalBehind(error: unknown): unknown {
  const previous = (error as { previousErrors?: unknown } | null)?.previousErrors;
  if (!Array.isArray(previous)) return error;
  return previous.find((cause) => cause instanceof Error && /^(NOPERM|NOAUTH)\b/.test(cause.message)) ?? error;
}

function isCertificateError(error: unknown, message: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) || /certificate|altnames/i.test(message);
}

/** The first line of a message, with any credentials of a URL in it hidden. */
function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/:\/\/[^@\s]*@/g, '://***@');
}
