/**
 * The dashboard's HTTP server: its page (a few static files) and a small JSON API, on
 * node:http with no framework. Every request passes request-guard.ts first; every response
 * forbids framing, sniffing, caching and any script or style not served from here.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DashboardCredentials } from '../../shared/config.js';
import { RedisError, RedmapError, RunError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { RUN_ID_PATTERN } from '../../shared/run/run-options.js';
import { DashboardApi, type DashboardDeps } from './dashboard-api.js';
import { newToken, refuseRequest, TOKEN_HEADER } from './request-guard.js';

export interface DashboardOptions extends DashboardDeps {
  host: string;
  port: number;
  credentials: DashboardCredentials | undefined;
  /** Where Redis is, as shown to people (never with its password). */
  redisShown: string;
  log: Logger;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  // The formatters the command line uses too (shared/data/formats.mjs), beside the page in dist/ and in the source tree alike.
  '/formats.mjs': { file: '../../../shared/data/formats.mjs', type: 'text/javascript; charset=utf-8' },
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.mjs': { file: 'app.mjs', type: 'text/javascript; charset=utf-8' },
  '/api.mjs': { file: 'api.mjs', type: 'text/javascript; charset=utf-8' },
  '/dom.mjs': { file: 'dom.mjs', type: 'text/javascript; charset=utf-8' },
  '/charts.mjs': { file: 'charts.mjs', type: 'text/javascript; charset=utf-8' },
  '/run-page.mjs': { file: 'run-page.mjs', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

const MAX_BODY_BYTES = 4096;

type Action = 'cancel' | 'retry' | 'limits';

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const token = newToken();
  const api = new DashboardApi(options);
  const files = loadStaticFiles(token, `${options.redisShown} · prefix ${options.prefix}`);
  let port = options.port;
  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const refusal = refuseRequest(
      {
        method: request.method ?? 'GET',
        host: request.headers.host,
        origin: request.headers.origin,
        secFetchSite: header(request, 'sec-fetch-site'),
        authorization: request.headers.authorization,
        token: header(request, TOKEN_HEADER),
      },
      { boundHost: options.host, port, credentials: options.credentials, token },
    );
    if (refusal) {
      const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
      const seen = { method: request.method, path, status: refusal.status, reason: refusal.reason, origin: request.headers.origin };
      // A browser asks without credentials first: that is no news. Anything else may be an attack.
      if (refusal.status === 401) options.log.debug(seen, 'dashboard request refused');
      else options.log.warn(seen, 'dashboard request refused');
      if (refusal.status === 401) response.setHeader('www-authenticate', 'Basic realm="redmap dashboard", charset="UTF-8"');
      sendJson(response, refusal.status, { error: refusal.reason });
      return;
    }
    route(request, response).catch((error: unknown) => sendError(response, error, options.log));
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
    const method = request.method === 'HEAD' ? 'GET' : (request.method ?? 'GET');
    const file = files.get(path);
    if (file) return method === 'GET' ? void response.writeHead(200, { 'content-type': file.type }).end(file.body) : notAllowed(response);
    if (path === '/api/runs') {
      if (method !== 'GET') return notAllowed(response);
      return sendJson(response, 200, { runs: await api.runs() });
    }
    const match = /^\/api\/runs\/([^/]+)(?:\/(failures|cancel|retry|limits))?$/.exec(path);
    if (!match || !RUN_ID_PATTERN.test(match[1]!)) return sendJson(response, 404, { error: `no such page: ${path}` });
    const [, runId, part] = match as unknown as [string, string, string | undefined];
    if (part === undefined || part === 'failures') {
      if (method !== 'GET') return notAllowed(response);
      const body = part === undefined ? await api.run(runId) : await api.failures(runId);
      return body === undefined ? sendJson(response, 404, { error: `run ${runId} is unknown` }) : sendJson(response, 200, body);
    }
    if (method !== 'POST') return notAllowed(response);
    const message = await act(part as Action, runId, await readJsonBody(request));
    options.log.info({ runId, action: part }, 'dashboard action');
    sendJson(response, 200, { message });
  }

  async function act(action: Action, runId: string, body: unknown): Promise<string> {
    if (action === 'cancel') return api.cancel(runId);
    if (action === 'retry') return api.retry(runId);
    return api.throttle(runId, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    close: () => closeServer(server),
  };
}

/** The page's files, read once; the page carries the token its changes must send back, and where its runs are. */
function loadStaticFiles(token: string, where: string): Map<string, { type: string; body: string }> {
  const files = new Map<string, { type: string; body: string }>();
  for (const [path, { file, type }] of Object.entries(STATIC_FILES)) {
    const body = readFileSync(new URL(`./public/${file}`, import.meta.url), 'utf8');
    files.set(path, { type, body: body.replace('{{token}}', token).replace('{{where}}', escapeHtml(where)) });
  }
  return files;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RequestError(413, 'request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RequestError(400, 'request body is not JSON');
  }
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function notAllowed(response: ServerResponse): void {
  sendJson(response, 405, { error: 'method not allowed' });
}

/** redmap's own errors say what went wrong in words meant for people; anything else stays in the log. */
function sendError(response: ServerResponse, error: unknown, log: Logger): void {
  if (error instanceof RequestError) return sendJson(response, error.status, { error: error.message });
  if (error instanceof RunError) return sendJson(response, error.code === 'RUN_NOT_FOUND' ? 404 : 409, { error: error.message });
  if (error instanceof RedisError) return sendJson(response, 503, { error: error.message });
  if (error instanceof RedmapError) return sendJson(response, 400, { error: error.message });
  log.error({ err: error }, 'dashboard request failed');
  sendJson(response, 500, { error: 'the dashboard could not answer; its log says why' });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
