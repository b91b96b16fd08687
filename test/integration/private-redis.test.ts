/**
 * A test's private redis-server is its own: when the port it was given is answered by
 * another server (another suite took it first), starting fails loudly, naming both pids,
 * instead of driving that other Redis.
 */
import { describe, expect, it } from 'vitest';
import { freePort, startRedisServer } from '../support/redis-server.js';

describe('startRedisServer', () => {
  it('refuses a port that another redis-server answers, naming its pid', async () => {
    const other = await startRedisServer();
    try {
      // The later --port wins: the new child listens elsewhere, so only `other` answers on its port.
      const elsewhere = String(await freePort());
      await expect(startRedisServer({ port: other.port, args: ['--port', elsewhere] })).rejects.toThrow(
        new RegExp(`port ${other.port} is answered by another redis-server \\(pid ${other.pid()}\\), not the one this test started`),
      );
    } finally {
      await other.stop();
    }
  });

  it('reports a child that exits before it answers, with what it printed', async () => {
    await expect(startRedisServer({ args: ['--no-such-option', 'x'] })).rejects.toThrow(
      /exited \(1\) before it answered:[\s\S]*no-such-option/,
    );
  });
});
