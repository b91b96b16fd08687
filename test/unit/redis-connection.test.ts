import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/errors.js';
import {
  clusterOptions,
  describeRedis,
  parseRedisUrl,
  redactUrl,
  redisOptions,
  type RedisSettings,
} from '../../shared/redis/redis-connection.js';

function usageErrorFrom(url: string): UsageError {
  try {
    parseRedisUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`expected ${url} to be refused`);
}

describe('parseRedisUrl', () => {
  it('reads host, port and database from a redis:// URL', () => {
    expect(parseRedisUrl('redis://cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      db: 2,
      username: undefined,
      password: undefined,
      tls: false,
      caFile: undefined,
      cluster: false,
    });
  });

  it('defaults to port 6379 and database 0', () => {
    expect(parseRedisUrl('redis://localhost')).toMatchObject({ host: 'localhost', port: 6379, db: 0, tls: false });
    expect(parseRedisUrl('redis://localhost/')).toMatchObject({ db: 0 });
  });

  it('turns on TLS for rediss://', () => {
    expect(parseRedisUrl('rediss://secure.example.com:6380')).toMatchObject({ host: 'secure.example.com', port: 6380, tls: true });
  });

  it('asks for a Redis Cluster with redis+cluster:// and rediss+cluster://', () => {
    expect(parseRedisUrl('redis+cluster://10.0.0.7:7000')).toMatchObject({ host: '10.0.0.7', port: 7000, tls: false, cluster: true });
    expect(parseRedisUrl('rediss+cluster://u:p@node.internal')).toMatchObject({ host: 'node.internal', tls: true, cluster: true });
    expect(parseRedisUrl('rediss://node.internal')).toMatchObject({ cluster: false });
  });

  it('refuses a database other than 0 for a Redis Cluster, which has only that one', () => {
    expect(usageErrorFrom('redis+cluster://h:7000/2').message).toContain('a Redis Cluster has only database 0');
  });

  it('reads an ACL user and password', () => {
    expect(parseRedisUrl('redis://alice:s3cret@h:1/0')).toMatchObject({ username: 'alice', password: 's3cret', host: 'h', port: 1 });
  });

  it('reads a password without a user', () => {
    expect(parseRedisUrl('redis://:s3cret@h')).toMatchObject({ username: undefined, password: 's3cret' });
  });

  it('reads a user without a password', () => {
    expect(parseRedisUrl('redis://alice@h')).toMatchObject({ username: 'alice', password: undefined });
  });

  it('decodes percent-encoded characters in the user and password', () => {
    expect(parseRedisUrl('redis://al%40ice:p%40ss%2Fw%3Ard@h')).toMatchObject({ username: 'al@ice', password: 'p@ss/w:rd' });
  });

  it('reads an IPv6 host without its brackets', () => {
    expect(parseRedisUrl('redis://[::1]:6380/3')).toMatchObject({ host: '::1', port: 6380, db: 3 });
    expect(parseRedisUrl('rediss://u:p@[2001:db8::7]')).toMatchObject({ host: '2001:db8::7', port: 6379, tls: true });
  });

  it.each([
    'not a url',
    'http://localhost:6379',
    'localhost:6379',
    'redis://host/abc',
    'redis://host/-1',
    'redis://host/1.5',
    'redis://host:99999',
    '',
  ])('refuses %j with a UsageError saying the Redis URL is invalid', (url) => {
    const error = usageErrorFrom(url);
    expect(error.code).toBe('USAGE');
    expect(error.message).toMatch(/invalid Redis URL/);
  });

  it('says the scheme must be redis:// or rediss:// for another scheme', () => {
    expect(usageErrorFrom('http://h').message).toContain('redis:// or rediss://');
    expect(usageErrorFrom('http://h').message).toContain('redis+cluster://');
  });

  it('says the database must be a number', () => {
    expect(usageErrorFrom('redis://h/zero').message).toContain('the database must be a number');
  });

  it('does not show the password in the error for an invalid URL', () => {
    expect(usageErrorFrom('redis://alice:hunter2@host/abc').message).not.toContain('hunter2');
    expect(usageErrorFrom('http://alice:hunter2@host').message).not.toContain('hunter2');
    expect(usageErrorFrom('redis://alice:hunter2@host:99999').message).not.toContain('hunter2');
  });

  it('does not show a password holding "/" in the error for the URL it makes invalid', () => {
    const message = usageErrorFrom('redis://alice:hun/ter2@host').message;
    expect(message).not.toContain('hun/ter2');
    expect(message).not.toContain('ter2');
  });
});

describe('redactUrl', () => {
  it('replaces the password with ***', () => {
    expect(redactUrl('redis://alice:hunter2@h:6379/1')).toBe('redis://alice:***@h:6379/1');
    expect(redactUrl('rediss://:hunter2@h')).toBe('rediss://:***@h');
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactUrl('redis://alice@h:6379')).toBe('redis://alice@h:6379');
    expect(redactUrl('redis://h:6379/2')).toBe('redis://h:6379/2');
    expect(redactUrl('not a url')).toBe('not a url');
  });

  it('hides a password that holds ":"', () => {
    const redacted = redactUrl('redis://alice:pa:ss@h');
    expect(redacted).not.toContain('pa:ss');
    expect(redacted).not.toContain('ss@');
  });

  it('hides every part of a password that holds an unencoded "@"', () => {
    const url = 'redis://alice:top@secret@h';
    expect(parseRedisUrl(url).password).toBe('top@secret');
    expect(redactUrl(url)).not.toContain('secret');
  });
});

describe('describeRedis', () => {
  const settings = (overrides: Partial<RedisSettings>): RedisSettings => ({
    host: 'h',
    port: 6379,
    db: 0,
    username: undefined,
    password: undefined,
    tls: false,
    caFile: undefined,
    ...overrides,
  });

  it('shows scheme, host, port and a database other than 0', () => {
    expect(describeRedis(settings({}))).toBe('redis://h:6379');
    expect(describeRedis(settings({ db: 4, tls: true, port: 6380 }))).toBe('rediss://h:6380/4');
  });

  it('keeps the cluster scheme, so the description parses back to a cluster', () => {
    expect(describeRedis(parseRedisUrl('rediss+cluster://alice:hunter2@h:7000'))).toBe('rediss+cluster://alice:***@h:7000');
    expect(parseRedisUrl(describeRedis(parseRedisUrl('redis+cluster://h:7000')))).toMatchObject({ cluster: true, port: 7000 });
  });

  it('shows the user and *** for the password, never the password', () => {
    expect(describeRedis(settings({ username: 'alice', password: 'hunter2' }))).toBe('redis://alice:***@h:6379');
    expect(describeRedis(settings({ password: 'hunter2' }))).toBe('redis://:***@h:6379');
    expect(describeRedis(settings({ username: 'alice' }))).toBe('redis://alice@h:6379');
  });

  it('never contains the password of any parsed URL', () => {
    for (const url of ['redis://u:hunter2@h', 'rediss://:hunter2@[::1]:7000/3', 'redis://u:hunter2%40x@h/1', 'redis://u:top@hunter2@h']) {
      const described = describeRedis(parseRedisUrl(url));
      expect(described, url).not.toContain('hunter2');
    }
  });

  it('puts an IPv6 host in brackets, so the description is a URL that parses back', () => {
    const described = describeRedis(parseRedisUrl('redis://[::1]:6380'));
    expect(described).toBe('redis://[::1]:6380');
    expect(parseRedisUrl(described)).toMatchObject({ host: '::1', port: 6380 });
  });
});

describe('redisOptions', () => {
  it('passes the settings to ioredis and names the connection', () => {
    const options = redisOptions(
      { host: 'h', port: 7, db: 2, username: 'u', password: 'p', tls: false, caFile: undefined },
      { name: 'redmap:test' },
    );
    expect(options).toMatchObject({
      host: 'h',
      port: 7,
      db: 2,
      username: 'u',
      password: 'p',
      connectionName: 'redmap:test',
      tls: undefined,
    });
    expect(options.maxRetriesPerRequest).toBeNull();
  });

  it('sets TLS with the server name for rediss://', () => {
    const options = redisOptions(parseRedisUrl('rediss://secure.example.com'), { name: 'x' });
    expect(options.tls).toEqual({ servername: 'secure.example.com' });
  });

  it.each(['rediss://10.0.0.7:6380', 'rediss://[::1]:6380'])(
    'sets no server name for an IP address (%s): SNI may not carry one, and Node warns',
    (url) => {
      expect(redisOptions(parseRedisUrl(url), { name: 'x' }).tls).toEqual({});
    },
  );

  it('reads the CA bundle to verify the server with', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-ca-'));
    writeFileSync(join(dir, 'ca.pem'), 'PEM');
    const options = redisOptions({ ...parseRedisUrl('rediss://h'), caFile: join(dir, 'ca.pem') }, { name: 'x' });
    expect(options.tls).toEqual({ servername: 'h', ca: Buffer.from('PEM') });
  });

  it('gives a cluster the same per-node settings: user, password, TLS and connection name', () => {
    const options = clusterOptions(parseRedisUrl('rediss+cluster://alice:pw@node.internal:7000'), { name: 'redmap:test' });
    expect(options.redisOptions).toMatchObject({
      username: 'alice',
      password: 'pw',
      connectionName: 'redmap:test',
      tls: { servername: 'node.internal' },
      maxRetriesPerRequest: null,
    });
  });
});
