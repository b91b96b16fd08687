import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnvironment, redisSettingsFrom } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { describeRedis, parseRedisUrl, redisOptions } from '../../shared/redis/redis-connection.js';
import { toRedisError } from '../../shared/redis/redis-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-sentinel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(url: string): string {
  try {
    parseRedisUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected ${url} to be refused`);
}

describe('parseRedisUrl with redis+sentinel://', () => {
  it('reads the Sentinels, the master name and the database', () => {
    expect(parseRedisUrl('redis+sentinel://s1.internal:26379,s2.internal:26380/mymaster?db=3')).toEqual({
      host: 's1.internal',
      port: 26379,
      db: 3,
      username: undefined,
      password: undefined,
      tls: false,
      caFile: undefined,
      sentinel: {
        nodes: [
          { host: 's1.internal', port: 26379 },
          { host: 's2.internal', port: 26380 },
        ],
        masterName: 'mymaster',
      },
    });
  });

  it('defaults each Sentinel to port 26379 and the database to 0', () => {
    expect(parseRedisUrl('redis+sentinel://a,b:1/m')).toMatchObject({
      db: 0,
      sentinel: {
        nodes: [
          { host: 'a', port: 26379 },
          { host: 'b', port: 1 },
        ],
      },
    });
  });

  it('turns on TLS for rediss+sentinel://', () => {
    expect(parseRedisUrl('rediss+sentinel://a:26379/m')).toMatchObject({ tls: true, sentinel: { masterName: 'm' } });
  });

  it('reads the Redis user and password, decoded, with an unencoded "@" in the password', () => {
    expect(parseRedisUrl('redis+sentinel://alice:p%3Aw@d@a:26379,b:26379/m')).toMatchObject({ username: 'alice', password: 'p:w@d' });
    expect(parseRedisUrl('redis+sentinel://:pw@a/m')).toMatchObject({ username: undefined, password: 'pw' });
  });

  it('reads IPv6 Sentinels in brackets', () => {
    expect(parseRedisUrl('redis+sentinel://[::1]:26379,[fe80::2]/m').sentinel?.nodes).toEqual([
      { host: '::1', port: 26379 },
      { host: 'fe80::2', port: 26379 },
    ]);
  });

  it('refuses a URL without hosts', () => {
    expect(refusal('redis+sentinel:///mymaster')).toContain('no Sentinel host is given');
    expect(refusal('redis+sentinel://u:p@/mymaster')).toContain('no Sentinel host is given');
  });

  it('refuses an empty host in the list', () => {
    expect(refusal('redis+sentinel://a:26379,,b:26379/m')).toContain('Sentinel 2 (): a Sentinel host is empty');
    expect(refusal('redis+sentinel://:26379/m')).toContain('a Sentinel host is empty');
  });

  it('refuses a bad port, naming the Sentinel', () => {
    expect(refusal('redis+sentinel://a:26379,b:port/m')).toContain('Sentinel 2 (b:port): the port must be a number');
    expect(refusal('redis+sentinel://a:0/m')).toContain('the port must be between 1 and 65535');
    expect(refusal('redis+sentinel://a:70000/m')).toContain('the port must be between 1 and 65535');
    expect(refusal('redis+sentinel://a:1.5/m')).toContain('the port must be a whole number');
  });

  it('refuses a URL without a master name', () => {
    expect(refusal('redis+sentinel://a:26379')).toContain('no master name is given');
    expect(refusal('redis+sentinel://a:26379/')).toContain('no master name is given');
    expect(refusal('redis+sentinel://a:26379/?db=1')).toContain('no master name is given');
  });

  it('refuses a master name with a "/" in it', () => {
    expect(refusal('redis+sentinel://a/m/2')).toContain('the master name must be one word');
  });

  it('refuses a bad database and unknown parameters', () => {
    expect(refusal('redis+sentinel://a/m?db=x')).toContain('db must be a number');
    expect(refusal('redis+sentinel://a/m?db=-1')).toContain('db must be 0 or more');
    expect(refusal('redis+sentinel://a/m?name=other')).toContain('unknown parameter "name"');
  });

  it('shows the expected form and never the password in its errors', () => {
    const message = refusal('redis+sentinel://alice:hunter2@a:x/m');
    expect(message).toContain('expected redis+sentinel://');
    expect(message).toContain('alice:***@');
    expect(message).not.toContain('hunter2');
  });
});

describe('describeRedis through Sentinel', () => {
  it('shows every Sentinel and the master name, never the password, and parses back', () => {
    const url = 'rediss+sentinel://alice:hunter2@a:26379,[::1]:26380/mymaster?db=2';
    const described = describeRedis(parseRedisUrl(url));
    expect(described).toBe('rediss+sentinel://alice:***@a:26379,[::1]:26380/mymaster?db=2');
    expect(parseRedisUrl(described)).toMatchObject({ tls: true, db: 2, sentinel: parseRedisUrl(url).sentinel });
  });
});

describe('the Sentinel password', () => {
  it('comes from REDIS_SENTINEL_PASSWORD, else from REDIS_SENTINEL_PASSWORD_FILE', () => {
    const file = join(dir, 'sentinel-password');
    writeFileSync(file, 'from-file\n');
    expect(readEnvironment({ REDIS_SENTINEL_PASSWORD: 'direct' }).redisSentinelPassword).toBe('direct');
    expect(readEnvironment({ REDIS_SENTINEL_PASSWORD_FILE: file }).redisSentinelPassword).toBe('from-file');
    expect(() => readEnvironment({ REDIS_SENTINEL_PASSWORD_FILE: join(dir, 'missing') })).toThrow(
      /REDIS_SENTINEL_PASSWORD_FILE: cannot read/,
    );
  });

  it('goes to the Sentinels only, separate from the Redis password', () => {
    const environment = readEnvironment({
      REDIS_URL: 'redis+sentinel://a:26379/m',
      REDIS_PASSWORD: 'data-pw',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
    });
    const settings = redisSettingsFrom(environment, {})!;
    const options = redisOptions(settings, { name: 'redmap:test' });
    expect(options).toMatchObject({
      sentinels: [{ host: 'a', port: 26379 }],
      name: 'm',
      password: 'data-pw',
      sentinelPassword: 'sentinel-pw',
      maxRetriesPerRequest: null,
      failoverDetector: true,
    });
    expect(options).not.toHaveProperty('host');
    expect(describeRedis(settings)).not.toContain('pw');
  });

  it('is left out of a plain redis:// connection', () => {
    const environment = readEnvironment({ REDIS_URL: 'redis://h:1', REDIS_SENTINEL_PASSWORD: 'sentinel-pw' });
    expect(redisSettingsFrom(environment, {})).not.toHaveProperty('sentinelPassword');
  });

  it('refuses a password on the command line for a Sentinel URL too', () => {
    expect(() => redisSettingsFrom(readEnvironment({}), { url: 'redis+sentinel://u:pw@a/m' })).toThrow(/do not put the password/);
  });

  it('is never written to the logs', () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const settings = { ...parseRedisUrl('redis+sentinel://a/m'), sentinelPassword: 'sentinel-pw' };
    logger.info({ settings, env: { REDIS_SENTINEL_PASSWORD: 'sentinel-pw' } }, 'connecting');
    logger.info(settings, 'connecting');
    expect(lines.join('')).not.toContain('sentinel-pw');
  });
});

describe('redisOptions through Sentinel with TLS', () => {
  it('uses TLS to the Sentinels and to the servers they name', () => {
    const options = redisOptions(parseRedisUrl('rediss+sentinel://a/m'), { name: 'redmap:test' });
    expect(options).toMatchObject({ enableTLSForSentinelMode: true, sentinelTLS: {}, tls: {} });
    expect(options.tls).not.toHaveProperty('servername');
  });

  it('drops a connection that reaches a replica and sends the command again', () => {
    const options = redisOptions(parseRedisUrl('redis+sentinel://a/m'), { name: 'redmap:test' });
    expect(options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(options.reconnectOnError?.(new Error('ERR other'))).toBe(false);
  });
});

describe('errors through Sentinel', () => {
  const target = { where: 'redis+sentinel://a:26379/m', username: undefined };
  const unreachable = (last: string): Error =>
    toRedisError(new Error(`All sentinels are unreachable. Retrying from scratch after 2000ms. Last error: ${last}`), target);

  it('says when the Sentinels know no such master', () => {
    const error = unreachable('ERR No such master with that name');
    expect(error).toMatchObject({ code: 'REDIS_MISCONFIGURED' });
    expect(error.message).toContain('know no master by that name');
  });

  it('names REDIS_SENTINEL_PASSWORD when the Sentinels refuse the password', () => {
    expect(unreachable('WRONGPASS invalid username-password pair or user is disabled.').message).toContain('REDIS_SENTINEL_PASSWORD');
    expect(unreachable('NOAUTH Authentication required.').message).toContain('REDIS_SENTINEL_PASSWORD');
  });

  it('says no Sentinel answers when none does', () => {
    const error = unreachable('Connection is closed.');
    expect(error).toMatchObject({ code: 'REDIS_UNREACHABLE' });
    expect(error.message).toContain('no Sentinel of redis+sentinel://a:26379/m answers');
  });
});
