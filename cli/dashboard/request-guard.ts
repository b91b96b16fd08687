/**
 * The checks every dashboard request passes before it reaches a handler:
 *
 * - the Host header names this server (on loopback), so a page on another site that
 *   re-points its own name at 127.0.0.1 (DNS rebinding) cannot read or act;
 * - the credentials, when configured (HTTP Basic, compared in constant time);
 * - a request that changes something (POST) comes from the dashboard's own page: its
 *   Origin is this server (or, without Origin, the browser says same-origin) and it carries
 *   the page's token, which another site can neither read nor guess (CSRF).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DashboardCredentials } from '../../shared/config.js';
import { isLoopbackHost } from './bind-policy.js';

export const TOKEN_HEADER = 'x-redmap-token';

export function newToken(): string {
  return randomBytes(32).toString('hex');
}

export interface RequestFacts {
  method: string;
  /** The Host header. */
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  authorization: string | undefined;
  token: string | undefined;
}

export type Refusal = { status: 400 | 401 | 403; reason: string };

export interface GuardSettings {
  /** The address the server listens on, and its port. */
  boundHost: string;
  port: number;
  credentials: DashboardCredentials | undefined;
  token: string;
}

export function refuseRequest(facts: RequestFacts, settings: GuardSettings): Refusal | undefined {
  if (isLoopbackHost(settings.boundHost) && !isLoopbackHostHeader(facts.host, settings.port)) {
    return { status: 400, reason: 'this dashboard answers only to its loopback address (Host header refused)' };
  }
  if (settings.credentials && !hasCredentials(facts.authorization, settings.credentials)) {
    return { status: 401, reason: 'credentials required' };
  }
  if (facts.method === 'GET' || facts.method === 'HEAD') return undefined;
  if (!isSameOrigin(facts)) return { status: 403, reason: 'refused: a change must come from the dashboard page itself (cross-origin)' };
  if (facts.token === undefined || !sameSecret(facts.token, settings.token)) {
    return { status: 403, reason: 'refused: missing or wrong dashboard token; reload the page' };
  }
  return undefined;
}

function isLoopbackHostHeader(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return match !== null && isLoopbackHost(match[1]!) && Number(match[2] ?? 80) === port;
}

function isSameOrigin(facts: RequestFacts): boolean {
  if (facts.origin !== undefined) {
    try {
      const origin = new URL(facts.origin);
      // https too: behind a TLS proxy that passes the Host header on.
      return (origin.protocol === 'http:' || origin.protocol === 'https:') && origin.host === facts.host;
    } catch {
      return false;
    }
  }
  return facts.secFetchSite === 'same-origin';
}

function hasCredentials(authorization: string | undefined, credentials: DashboardCredentials): boolean {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!match) return false;
  return sameSecret(Buffer.from(match[1]!, 'base64').toString('utf8'), `${credentials.user}:${credentials.password}`);
}

/** Equal, compared in constant time (digests first, so lengths do not leak either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
