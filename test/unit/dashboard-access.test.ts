import { describe, expect, it } from 'vitest';
import { bindRefusal, isLoopbackHost } from '../../cli/dashboard/bind-policy.js';
import { refuseRequest, type GuardSettings, type RequestFacts } from '../../cli/dashboard/request-guard.js';

describe('where the dashboard may listen', () => {
  it('takes loopback addresses as loopback, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'dashboard.internal', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('refuses a public address without credentials, naming where credentials come from', () => {
    const refusal = bindRefusal({ host: '0.0.0.0', hasCredentials: false, insecurePublic: false });
    expect(refusal).toMatch(/refusing to listen on 0\.0\.0\.0 without credentials/);
    expect(refusal).toMatch(/REDMAP_DASHBOARD_PASSWORD or REDMAP_DASHBOARD_PASSWORD_FILE \(never on the command line\)/);
    expect(refusal).toMatch(/--insecure-public/);
  });

  it('allows loopback always, and a public address with credentials or --insecure-public', () => {
    expect(bindRefusal({ host: '127.0.0.1', hasCredentials: false, insecurePublic: false })).toBeUndefined();
    expect(bindRefusal({ host: '0.0.0.0', hasCredentials: true, insecurePublic: false })).toBeUndefined();
    expect(bindRefusal({ host: '10.0.0.5', hasCredentials: false, insecurePublic: true })).toBeUndefined();
  });
});

const TOKEN = 'a'.repeat(64);
const loopback: GuardSettings = { boundHost: '127.0.0.1', port: 8080, credentials: undefined, token: TOKEN };
const post = (facts: Partial<RequestFacts>): RequestFacts => ({
  method: 'POST',
  host: '127.0.0.1:8080',
  origin: 'http://127.0.0.1:8080',
  secFetchSite: undefined,
  authorization: undefined,
  token: TOKEN,
  ...facts,
});
const get = (facts: Partial<RequestFacts>): RequestFacts => post({ method: 'GET', origin: undefined, token: undefined, ...facts });

describe('requests to the dashboard', () => {
  it('lets its own page read and act', () => {
    expect(refuseRequest(get({}), loopback)).toBeUndefined();
    expect(refuseRequest(get({ host: 'localhost:8080' }), loopback)).toBeUndefined();
    expect(refuseRequest(post({}), loopback)).toBeUndefined();
    expect(refuseRequest(post({ origin: undefined, secFetchSite: 'same-origin' }), loopback)).toBeUndefined();
  });

  it('refuses a change from another origin, even with the token', () => {
    expect(refuseRequest(post({ origin: 'http://evil.example' }), loopback)).toEqual({
      status: 403,
      reason: expect.stringMatching(/cross-origin/),
    });
    expect(refuseRequest(post({ origin: 'http://127.0.0.1:9999' }), loopback)?.status).toBe(403);
    expect(refuseRequest(post({ origin: 'null' }), loopback)?.status).toBe(403);
    expect(refuseRequest(post({ origin: undefined, secFetchSite: 'cross-site' }), loopback)?.status).toBe(403);
    expect(refuseRequest(post({ origin: undefined }), loopback)?.status).toBe(403);
  });

  it('refuses a same-origin change without the right token', () => {
    expect(refuseRequest(post({ token: undefined }), loopback)).toEqual({ status: 403, reason: expect.stringMatching(/token/) });
    expect(refuseRequest(post({ token: 'b'.repeat(64) }), loopback)?.status).toBe(403);
    expect(refuseRequest(post({ token: TOKEN.slice(1) }), loopback)?.status).toBe(403);
  });

  it('on loopback, refuses any Host header but its own address (DNS rebinding)', () => {
    expect(refuseRequest(get({ host: 'evil.example:8080' }), loopback)?.status).toBe(400);
    expect(refuseRequest(get({ host: '127.0.0.1:9090' }), loopback)?.status).toBe(400);
    expect(refuseRequest(get({ host: undefined }), loopback)?.status).toBe(400);
    // Same origin as far as the browser knows, but a rebound name: still refused.
    expect(refuseRequest(post({ host: 'evil.example:8080', origin: 'http://evil.example:8080' }), loopback)?.status).toBe(400);
  });

  it('asks for the configured credentials on every request, compared whole', () => {
    const guarded: GuardSettings = { boundHost: '0.0.0.0', port: 8080, credentials: { user: 'ops', password: 's3cret' }, token: TOKEN };
    const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;
    const at = { host: 'dash.internal:8080', origin: 'http://dash.internal:8080' };
    expect(refuseRequest(get({ ...at }), guarded)).toEqual({ status: 401, reason: 'credentials required' });
    expect(refuseRequest(get({ ...at, authorization: basic('ops:wrong') }), guarded)?.status).toBe(401);
    expect(refuseRequest(get({ ...at, authorization: basic('ops:s3cre') }), guarded)?.status).toBe(401);
    expect(refuseRequest(get({ ...at, authorization: basic('other:s3cret') }), guarded)?.status).toBe(401);
    expect(refuseRequest(get({ ...at, authorization: basic('ops:s3cret') }), guarded)).toBeUndefined();
    expect(refuseRequest(post({ ...at, authorization: basic('ops:s3cret') }), guarded)).toBeUndefined();
    expect(refuseRequest(post({ ...at, authorization: basic('ops:s3cret'), origin: 'http://evil.example' }), guarded)?.status).toBe(403);
  });
});
