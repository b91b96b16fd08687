/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics, nothing else. It serves counts and
 * job names only, never settings, so it needs no credentials; bind it where your
 * Prometheus can reach it (--metrics-host).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../../shared/logger.js';
import type { MachineMetrics } from './machine-metrics.js';

export async function serveMetrics(metrics: MachineMetrics, port: number, host: string, log: Logger): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || new URL(request.url ?? '/', 'http://metrics').pathname !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: unknown) => {
        log.error({ err: error }, 'could not render the metrics');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('could not render the metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
