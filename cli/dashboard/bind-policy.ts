/**
 * Where the dashboard may listen. It can cancel and retry runs, so by default it listens on
 * loopback only; any other address needs credentials (from the environment or a file, never
 * a flag), or --insecure-public for a network you trust entirely.
 */
import { isIP } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

export interface BindChoice {
  host: string;
  hasCredentials: boolean;
  insecurePublic: boolean;
}

/** Why listening on `host` is refused, or undefined when it is allowed. */
export function bindRefusal(choice: BindChoice): string | undefined {
  if (isLoopbackHost(choice.host) || choice.hasCredentials || choice.insecurePublic) return undefined;
  return (
    `refusing to listen on ${choice.host} without credentials: anyone who reaches it could cancel and retry runs. ` +
    'Set REDMAP_DASHBOARD_PASSWORD or REDMAP_DASHBOARD_PASSWORD_FILE (never on the command line), ' +
    'or pass --insecure-public on a network you trust entirely'
  );
}
