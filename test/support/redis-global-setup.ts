/**
 * Global setup of the Redis suites: finds or starts the Redis every test of the run uses
 * (each test works under its own key prefix), and stops what it started.
 */
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { selectRedisSource } from './redis-selection.js';
import { startRedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const source = selectRedisSource({
    env: process.env,
    hasRedisServer: () => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0,
    hasDockerEngine: () => spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0,
  });
  switch (source.kind) {
    case 'env':
      project.provide('redisUrl', source.url);
      return async () => {};
    case 'redis-server': {
      const server = await startRedisServer();
      project.provide('redisUrl', server.url);
      return () => server.stop();
    }
    case 'testcontainers': {
      const { GenericContainer } = await import('testcontainers');
      const container = await new GenericContainer('redis:7')
        .withExposedPorts(6379)
        .withCommand(['redis-server', '--maxmemory-policy', 'noeviction'])
        .start();
      project.provide('redisUrl', `redis://${container.getHost()}:${container.getMappedPort(6379)}`);
      return async () => {
        await container.stop();
      };
    }
    case 'none':
      throw new Error(source.message);
  }
}
