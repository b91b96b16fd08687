// Worker processes started before a benchmark and kept across its rounds.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';

/**
 * Starts `redmap worker JOB` with N processes under a prefix; resolves once they serve. They
 * run in the checkout `cli` belongs to (CHECKOUT/dist/cli/main.js), so a relative JOB is that
 * checkout's job, and its `import 'redmap'` that checkout's build.
 */
export async function startWarmWorkers(cli, job, { processes, prefix, redisUrl, extraArgs = [], env = {} }) {
  const child = fork(cli, ['worker', job, '--processes', String(processes), ...extraArgs], {
    cwd: join(dirname(cli), '..', '..'),
    env: { ...process.env, REDIS_URL: redisUrl, REDMAP_PREFIX: prefix, REDMAP_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  await new Promise((resolve, reject) => {
    let seen = '';
    child.stderr.on('data', (chunk) => {
      seen += chunk;
      if (/worker process\(es\) serving/.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redmap worker exited ${code}: ${seen.slice(-500)}`)));
  });
  child.stderr.resume();
  return {
    pid: child.pid,
    stop: () => new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM')),
  };
}
