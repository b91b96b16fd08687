/**
 * The dashboard can cancel and retry runs, so: it refuses a public address without
 * credentials, asks for them on every request when they are set, refuses a change from
 * another origin or without its page's token, lets no other site frame it or run script
 * in it, and shows the Redis password nowhere.
 */
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { runCli } from '../support/cli.js';
import { pageToken, startDashboard } from '../support/dashboard.js';
import { freePort, startRedisServer } from '../support/redis-server.js';
import { it } from '../support/fixtures.js';
import { redisUrl, testPrefix } from '../support/test-redis.js';

const POISON = 'test/fixtures/jobs/poison.ts';

/** The status of GET /api/runs sent with this Host header (fetch will not send one of its own). */
function statusWithHost(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port, path: '/api/runs', headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('where the dashboard listens', () => {
  it('refuses a public address without credentials, and says where to set them', async () => {
    const refused = await runCli(['dashboard', '--host', '0.0.0.0', '--port', String(await freePort())], {
      env: { REDIS_URL: redisUrl() },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without credentials/);
    expect(refused.stderr).toMatch(/REDMAP_DASHBOARD_PASSWORD or REDMAP_DASHBOARD_PASSWORD_FILE \(never on the command line\)/);
  });

  it('listens publicly with credentials, and then every request needs them', async () => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: testPrefix(), REDMAP_DASHBOARD_PASSWORD: 'dash-pw' };
    const auth = `Basic ${Buffer.from('redmap:dash-pw').toString('base64')}`;
    const dashboard = await startDashboard(env, ['--host', '0.0.0.0'], auth);
    try {
      for (const path of ['/', '/app.mjs', '/api/runs']) {
        const anonymous = await fetch(`${dashboard.base}${path}`);
        expect(anonymous.status, path).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
        expect((await fetch(`${dashboard.base}${path}`, { headers: { authorization: auth } })).status, path).toBe(200);
      }
      const wrong = `Basic ${Buffer.from('redmap:dash-p').toString('base64')}`;
      expect((await fetch(`${dashboard.base}/api/runs`, { headers: { authorization: wrong } })).status).toBe(401);
    } finally {
      await dashboard.stop();
    }
  });
});

/** A Content-Security-Policy header as directive -> its sources. */
function policy(header: string | null): Map<string, string> {
  return new Map(
    (header ?? '').split(';').map((directive) => {
      const [name = '', ...sources] = directive.trim().split(/\s+/);
      return [name, sources.join(' ')] as [string, string];
    }),
  );
}

describe('framing and foreign content', () => {
  it('every page and answer forbids framing, and scripts, styles and connections from anywhere else', async () => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: testPrefix() };
    const dashboard = await startDashboard(env);
    try {
      const token = await pageToken(dashboard.base);
      const post = (path: string, headers: Record<string, string>) => fetch(`${dashboard.base}${path}`, { method: 'POST', headers });
      const pages = ['/', '/app.mjs', '/api.mjs', '/dom.mjs', '/charts.mjs', '/run-page.mjs', '/style.css', '/favicon.svg'];
      const answers = ['/api/runs', '/api/runs/no-such-run', '/api/runs/no-such-run/failures', '/nowhere'];
      const responses = [
        ...(await Promise.all([...pages, ...answers].map((path) => fetch(`${dashboard.base}${path}`)))),
        await post('/api/runs/no-such-run/cancel', { origin: dashboard.base, 'x-redmap-token': token }),
        await post('/api/runs/no-such-run/cancel', { origin: 'http://evil.example', 'x-redmap-token': token }),
      ];
      // Pages, answers, errors and refusals alike.
      expect(new Set(responses.map((response) => response.status))).toEqual(new Set([200, 404, 403]));
      for (const response of responses) {
        const csp = policy(response.headers.get('content-security-policy'));
        const where = `${response.url} (${response.status})`;
        expect(csp.get('frame-ancestors'), where).toBe("'none'");
        expect(csp.get('default-src'), where).toBe("'none'");
        for (const directive of ['script-src', 'style-src', 'connect-src', 'img-src'])
          expect(csp.get(directive), `${where} ${directive}`).toBe("'self'");
        expect(response.headers.get('x-frame-options'), where).toBe('DENY');
        expect(response.headers.get('x-content-type-options'), where).toBe('nosniff');
      }
      // The page needs nothing that policy blocks: no inline script, style or event handler.
      const html = await (await fetch(`${dashboard.base}/`)).text();
      expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/app.mjs">']);
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    } finally {
      await dashboard.stop();
    }
  });
});

describe('changes through the dashboard', () => {
  it('are refused from another origin or without the page token, and work from the page', async ({ redis: client, prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const submitted = await runCli(['submit', POISON, 'slow:60000', 'a'], { env }); // nobody serves it: it stays mapping
    const runId = submitted.stdout.trim();
    const dashboard = await startDashboard(env);
    try {
      const token = await pageToken(dashboard.base);
      const cancel = (headers: Record<string, string>) => fetch(`${dashboard.base}/api/runs/${runId}/cancel`, { method: 'POST', headers });
      const crossOrigin = await cancel({ origin: 'http://evil.example', 'x-redmap-token': token });
      expect(crossOrigin.status).toBe(403);
      expect(await crossOrigin.json()).toEqual({ error: expect.stringMatching(/cross-origin/) });
      expect((await cancel({ 'sec-fetch-site': 'cross-site', 'x-redmap-token': token })).status).toBe(403);
      expect((await cancel({ origin: dashboard.base })).status).toBe(403);
      expect((await cancel({ origin: dashboard.base, 'x-redmap-token': 'f'.repeat(64) })).status).toBe(403);
      // A page elsewhere that re-points its own name at this address (DNS rebinding).
      expect(await statusWithHost(dashboard.port, `rebound.example:${dashboard.port}`)).toBe(400);
      expect(await statusWithHost(dashboard.port, `localhost:${dashboard.port}`)).toBe(200);
      expect((await client.hget(`${prefix}:run:{${runId}}:meta`, 'state'))!).toBe('mapping');

      const fromPage = await cancel({ origin: dashboard.base, 'x-redmap-token': token });
      expect(await fromPage.json()).toEqual({ message: `run ${runId} cancelled (it was mapping)` });
      expect((await client.hget(`${prefix}:run:{${runId}}:meta`, 'state'))!).toBe('cancelled');
      const again = await cancel({ origin: dashboard.base, 'x-redmap-token': token });
      expect(again.status).toBe(409);
      expect(await again.json()).toEqual({ error: `run ${runId} has already ended (cancelled); nothing to cancel` });
    } finally {
      await dashboard.stop();
    }
  });
});

describe('the Redis password', () => {
  it('shows on no page and in no answer of the dashboard, nor in its log', async () => {
    const password = 'Pw-4a7f1c9e-never-shown';
    const server = await startRedisServer();
    const admin = new Redis(server.url);
    await admin.config('SET', 'requirepass', password);
    admin.disconnect();
    const env = { REDIS_URL: `redis://:${password}@127.0.0.1:${server.port}`, REDMAP_PREFIX: 'pw' };
    try {
      const ran = await runCli(['run', POISON, 'a', 'throw', '--workers', '1', '--attempts', '1', '--max-failed-tasks', '1', '--quiet'], {
        env,
      });
      expect(ran.code).toBe(3);
      const runId = /run (\S+) done_with_failures/.exec(ran.stderr)![1]!;
      const dashboard = await startDashboard(env);
      const bodies: string[] = [];
      try {
        const token = await pageToken(dashboard.base);
        for (const path of [
          '/',
          '/app.mjs',
          '/style.css',
          '/api/runs',
          `/api/runs/${runId}`,
          `/api/runs/${runId}/failures`,
          '/api/runs/nope',
          '/nowhere',
        ]) {
          const response = await fetch(`${dashboard.base}${path}`);
          bodies.push(JSON.stringify([...response.headers]), await response.text());
        }
        const failures = JSON.parse(bodies[11]!) as Array<{ input: string; error: string }>;
        expect(failures).toEqual([expect.objectContaining({ input: '"throw"', error: 'poison item: always throws' })]);
        expect(bodies[1]).toContain(`<span id="where">redis://127.0.0.1:${server.port} · prefix pw</span>`);
        const statuses: number[] = [];
        for (const action of ['cancel', 'retry', 'limits']) {
          const response = await fetch(`${dashboard.base}/api/runs/${runId}/${action}`, {
            method: 'POST',
            headers: { origin: dashboard.base, 'x-redmap-token': token, 'content-type': 'application/json' },
            body: action === 'limits' ? '{"concurrency":2}' : '{}',
          });
          statuses.push(response.status);
          bodies.push(await response.text());
        }
        // Cancel refused (the run has ended), retry and limits done: their answers are in the bodies too.
        expect(statuses).toEqual([409, 200, 200]);
      } finally {
        const stopped = await dashboard.stop();
        bodies.push(stopped.stdout, stopped.stderr);
      }
      for (const body of bodies) expect(body).not.toContain(password);
    } finally {
      await server.stop();
    }
  });
});
