import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENT_VARIABLES,
  readDashboardCredentials,
  readEnvironment,
  readPostgresPassword,
  redisSettingsFrom,
} from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function passwordFile(content: string): string {
  const path = join(dir, `password-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, content);
  return path;
}

describe('readEnvironment', () => {
  it('reads nothing but the default prefix from an empty environment', () => {
    expect(readEnvironment({})).toEqual({
      redisUrl: undefined,
      redisUsername: undefined,
      redisPassword: undefined,
      redisCaFile: undefined,
      prefix: 'redmap',
      logLevel: undefined,
      logFormat: undefined,
    });
  });

  it('reads every variable it documents', () => {
    const environment = readEnvironment({
      REDIS_URL: 'redis://h:1',
      REDIS_USERNAME: 'alice',
      REDIS_PASSWORD: 'pw',
      REDIS_CA_FILE: '/ca.pem',
      REDMAP_PREFIX: 'mine',
      REDMAP_LOG_LEVEL: 'debug',
      REDMAP_LOG_FORMAT: 'json',
    });
    expect(environment).toEqual({
      redisUrl: 'redis://h:1',
      redisUsername: 'alice',
      redisPassword: 'pw',
      redisCaFile: '/ca.pem',
      prefix: 'mine',
      logLevel: 'debug',
      logFormat: 'json',
    });
  });

  it('treats empty variables as unset', () => {
    expect(readEnvironment({ REDIS_URL: '', REDIS_PASSWORD: '', REDMAP_PREFIX: '' })).toMatchObject({
      redisUrl: undefined,
      redisPassword: undefined,
      prefix: 'redmap',
    });
  });

  it('reads the password from REDIS_PASSWORD_FILE, without the trailing newline', () => {
    expect(readEnvironment({ REDIS_PASSWORD_FILE: passwordFile('from-file\n') }).redisPassword).toBe('from-file');
  });

  it('prefers REDIS_PASSWORD over REDIS_PASSWORD_FILE', () => {
    const env = { REDIS_PASSWORD: 'direct', REDIS_PASSWORD_FILE: passwordFile('from-file') };
    expect(readEnvironment(env).redisPassword).toBe('direct');
  });

  it('does not read REDIS_PASSWORD_FILE when REDIS_PASSWORD is set, even if the file is missing', () => {
    expect(readEnvironment({ REDIS_PASSWORD: 'direct', REDIS_PASSWORD_FILE: join(dir, 'missing') }).redisPassword).toBe('direct');
  });

  it('throws a UsageError naming REDIS_PASSWORD_FILE and the file when it cannot be read', () => {
    const missing = join(dir, 'no-such-file');
    expect(() => readEnvironment({ REDIS_PASSWORD_FILE: missing })).toThrow(UsageError);
    expect(() => readEnvironment({ REDIS_PASSWORD_FILE: missing })).toThrow(/REDIS_PASSWORD_FILE: cannot read .*no-such-file/);
  });

  it('documents every variable it reads', () => {
    expect(Object.keys(ENVIRONMENT_VARIABLES).sort()).toEqual(
      [
        'PGPASSWORD',
        'PGPASSWORD_FILE',
        'REDIS_CA_FILE',
        'REDIS_PASSWORD',
        'REDIS_PASSWORD_FILE',
        'REDIS_SENTINEL_PASSWORD',
        'REDIS_SENTINEL_PASSWORD_FILE',
        'REDIS_URL',
        'REDIS_USERNAME',
        'REDMAP_LOG_FORMAT',
        'REDMAP_LOG_LEVEL',
        'REDMAP_PREFIX',
      ].sort(),
    );
  });
});

describe('redisSettingsFrom', () => {
  it('gives undefined when neither the flag nor REDIS_URL names a server', () => {
    expect(redisSettingsFrom(readEnvironment({}), {})).toBeUndefined();
  });

  it('uses REDIS_URL from the environment', () => {
    expect(redisSettingsFrom(readEnvironment({ REDIS_URL: 'redis://a:1/2' }), {})).toMatchObject({ host: 'a', port: 1, db: 2 });
  });

  it('prefers the --redis flag over REDIS_URL', () => {
    const settings = redisSettingsFrom(readEnvironment({ REDIS_URL: 'redis://a:1' }), { url: 'redis://b:2' });
    expect(settings).toMatchObject({ host: 'b', port: 2 });
  });

  it('takes the password and user from the environment over the URL', () => {
    const environment = readEnvironment({
      REDIS_URL: 'redis://url-user:url-pass@h',
      REDIS_USERNAME: 'env-user',
      REDIS_PASSWORD: 'env-pass',
    });
    expect(redisSettingsFrom(environment, {})).toMatchObject({ username: 'env-user', password: 'env-pass' });
  });

  it('combines a --redis URL without a password with the password from REDIS_PASSWORD_FILE', () => {
    const environment = readEnvironment({ REDIS_PASSWORD_FILE: passwordFile('filed\n') });
    expect(redisSettingsFrom(environment, { url: 'rediss://alice@h' })).toMatchObject({ username: 'alice', password: 'filed', tls: true });
  });

  it('keeps the password from REDIS_URL when REDIS_PASSWORD is unset', () => {
    expect(redisSettingsFrom(readEnvironment({ REDIS_URL: 'redis://:kept@h' }), {})?.password).toBe('kept');
  });

  it('takes the CA file from the flag over REDIS_CA_FILE', () => {
    const environment = readEnvironment({ REDIS_URL: 'rediss://h', REDIS_CA_FILE: '/env.pem' });
    expect(redisSettingsFrom(environment, {})?.caFile).toBe('/env.pem');
    expect(redisSettingsFrom(environment, { caFile: '/flag.pem' })?.caFile).toBe('/flag.pem');
  });

  it.each(['redis://alice:hunter2@h:6379', 'redis://:hunter2@h', 'rediss://alice:hunter2@h/1'])(
    'refuses a password in the --redis flag (%s) without repeating it',
    (url) => {
      let error: unknown;
      try {
        redisSettingsFrom(readEnvironment({}), { url });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UsageError);
      const message = (error as UsageError).message;
      expect(message).toContain('--redis');
      expect(message).toContain('REDIS_PASSWORD');
      expect(message).not.toContain('hunter2');
    },
  );

  it('refuses a password holding "@" in the --redis flag without repeating any of it', () => {
    expect(() => redisSettingsFrom(readEnvironment({}), { url: 'redis://alice:top@secret@h' })).toThrow(UsageError);
    try {
      redisSettingsFrom(readEnvironment({}), { url: 'redis://alice:top@secret@h' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('refuses a password holding "/" in the --redis flag without repeating it', () => {
    let error: unknown;
    try {
      redisSettingsFrom(readEnvironment({}), { url: 'redis://alice:hun/ter2@h' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain('ter2');
  });

  it('accepts a --redis URL with a user but no password', () => {
    expect(redisSettingsFrom(readEnvironment({}), { url: 'redis://alice@h' })).toMatchObject({ username: 'alice', password: undefined });
  });

  it('does not refuse a password that comes from REDIS_URL', () => {
    expect(redisSettingsFrom(readEnvironment({ REDIS_URL: 'redis://alice:pw@h' }), {})).toMatchObject({ password: 'pw' });
  });
});

describe('readDashboardCredentials', () => {
  it('has none when no password is set', () => {
    expect(readDashboardCredentials({})).toBeUndefined();
    expect(readDashboardCredentials({ REDMAP_DASHBOARD_USER: 'ops' })).toBeUndefined();
  });

  it('reads the password from the environment or a file, the user defaulting to redmap', () => {
    expect(readDashboardCredentials({ REDMAP_DASHBOARD_PASSWORD: 'pw' })).toEqual({ user: 'redmap', password: 'pw' });
    const file = passwordFile('from-file\n');
    expect(readDashboardCredentials({ REDMAP_DASHBOARD_PASSWORD_FILE: file, REDMAP_DASHBOARD_USER: 'ops' })).toEqual({
      user: 'ops',
      password: 'from-file',
    });
  });

  it('refuses an unreadable or empty password file, naming the variable', () => {
    expect(() => readDashboardCredentials({ REDMAP_DASHBOARD_PASSWORD_FILE: join(dir, 'missing') })).toThrow(
      /REDMAP_DASHBOARD_PASSWORD_FILE: cannot read/,
    );
    expect(() => readDashboardCredentials({ REDMAP_DASHBOARD_PASSWORD_FILE: passwordFile('\n') })).toThrow(/is empty/);
  });
});

describe('readPostgresPassword', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redmap-pgpassword-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the sink password from PGPASSWORD, else from the file PGPASSWORD_FILE names, else none', () => {
    const file = join(dir, 'password');
    writeFileSync(file, 'from-file\n');
    expect(readPostgresPassword({ PGPASSWORD: 'direct', PGPASSWORD_FILE: file })).toBe('direct');
    expect(readPostgresPassword({ PGPASSWORD_FILE: file })).toBe('from-file');
    expect(readPostgresPassword({})).toBeUndefined();
    expect(() => readPostgresPassword({ PGPASSWORD_FILE: join(dir, 'missing') })).toThrow(/PGPASSWORD_FILE: cannot read/);
  });
});
