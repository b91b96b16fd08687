/**
 * `redmap dashboard` as a real process on a free port, for the dashboard's tests.
 */
import { startCli, type CliResult } from './cli.js';
import { freePort } from './redis-server.js';
import { waitFor } from './wait-for.js';

export interface TestDashboard {
  base: string;
  port: number;
  stop(): Promise<CliResult>;
}

/** Starts the dashboard and resolves once it answers (with `auth` as its Authorization header). */
export async function startDashboard(env: NodeJS.ProcessEnv, flags: string[] = [], auth?: string): Promise<TestDashboard> {
  const port = await freePort();
  const dashboard = startCli(['dashboard', '--port', String(port), ...flags], { env });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the dashboard', async () => {
    if (dashboard.exitCode !== null) throw new Error(`redmap dashboard exited: ${(await dashboard.result).stderr}`);
    const response = await fetch(`${base}/api/runs`, { headers: auth ? { authorization: auth } : {} }).catch(() => undefined);
    return response === undefined ? undefined : true;
  });
  return {
    base,
    port,
    async stop() {
      dashboard.kill('SIGTERM');
      return dashboard.result;
    },
  };
}

/** The token the dashboard's page carries for the changes it sends. */
export async function pageToken(base: string, headers: Record<string, string> = {}): Promise<string> {
  const html = await (await fetch(`${base}/`, { headers })).text();
  return /<meta name="redmap-token" content="([0-9a-f]{64})"/.exec(html)![1]!;
}
