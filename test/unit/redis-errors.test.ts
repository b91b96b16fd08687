import { describe, expect, it } from 'vitest';
import { RedisError } from '../../shared/errors.js';
import { isAccessRefused, toRedisError } from '../../shared/redis/redis-errors.js';

const target = { where: 'rediss://worker:***@queue.internal:6380', username: 'worker' };

function mapped(error: unknown): RedisError {
  const result = toRedisError(error, target);
  expect(result).toBeInstanceOf(RedisError);
  return result as RedisError;
}

describe('toRedisError', () => {
  it('says which user lacks which right, and where the ACL to grant is written', () => {
    const error = mapped(new Error("NOPERM User worker has no permissions to run the 'info' command"));
    expect(error.code).toBe('REDIS_MISCONFIGURED');
    expect(error.message).toContain('refused the user "worker" a command, key or channel redmap needs');
    expect(error.message).toContain("no permissions to run the 'info' command");
    expect(error.message).toContain('docs/security.md');
  });

  it('tells a refused password apart from a missing one', () => {
    const wrong = mapped(new Error('WRONGPASS invalid username-password pair or user is disabled.'));
    expect(wrong.message).toContain('refused the user "worker" and its password');
    expect(wrong.message).toContain('REDIS_PASSWORD');
    const missing = mapped(new Error('NOAUTH Authentication required.'));
    expect(missing.message).toContain('needs a password');
  });

  it('says a certificate that cannot be verified needs REDIS_CA_FILE, rather than that Redis is down', () => {
    const error = mapped(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }));
    expect(error.code).toBe('REDIS_MISCONFIGURED');
    expect(error.message).toContain('cannot verify the TLS certificate');
    expect(error.message).toContain('REDIS_CA_FILE');
  });

  it('says a certificate for another host does not fit the address', () => {
    const error = mapped(new Error("Hostname/IP does not match certificate's altnames: IP: 10.0.0.9 is not in the cert's list"));
    expect(error.message).toContain('a name or address the certificate lists');
  });

  it('calls anything else unreachable', () => {
    expect(mapped(new Error('connect ECONNREFUSED 10.0.0.9:6380')).code).toBe('REDIS_UNREACHABLE');
  });

  it('never repeats a password that an error message carries in a URL', () => {
    expect(mapped(new Error('failed for redis://u:hunter2@h:1')).message).not.toContain('hunter2');
  });

  it('speaks of the Redis user when the server is not known (an error that reached the top of a command)', () => {
    expect(toRedisError(new Error('NOPERM No permissions to access a key')).message).toMatch(/^Redis refused the Redis user a command/);
  });

  it('tells a refusal by the server apart from other errors', () => {
    expect(isAccessRefused(new Error("NOPERM User worker has no permissions to run the 'xadd' command"))).toBe(true);
    expect(isAccessRefused(new Error('WRONGPASS invalid username-password pair'))).toBe(true);
    expect(isAccessRefused(new Error('a map call threw NOPERM'))).toBe(false);
  });

  it('finds the refusal behind a transaction Redis discarded for it (EXECABORT)', () => {
    const discarded = Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), {
      previousErrors: [new Error("NOPERM User w has no permissions to run the 'multi' command")],
    });
    expect(isAccessRefused(discarded)).toBe(true);
    expect(mapped(discarded).message).toContain("NOPERM User w has no permissions to run the 'multi' command");
  });

  it('names the default user when no ACL user is set', () => {
    const error = toRedisError(new Error('NOPERM No permissions to access a key'), { where: 'redis://h:6379', username: undefined });
    expect(error.message).toContain('the default user');
  });
});
