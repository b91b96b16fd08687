// How much slower the multi-host test's run gets with network delay: the log-errors example
// on the same 24 generated files (30 MB, one task each, 4 partitions), served by two
// `redmap worker` commands as on the test's two worker hosts (1 process, concurrency 2,
// 2 s locks each) and submitted with `submit --wait`. "direct" connects everyone to Redis;
// the others connect everyone through test/support/delay-relay.ts (the relay the multihost
// test falls back to where the kernel has no netem), which holds every chunk for
// DELAY ms each way (2 × DELAY ms more per round trip), as `tc netem delay DELAY` on both
// ends of each link does; "relay, 0 ms" shows what the relay itself costs. The run's time
// is Redis's own clock from creation to finish.
//
//   npm run build && node bench/multihost-delay.mjs [--delay 2] [--rounds 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, machine, startRedis } from './harness.mjs';

const { values } = parseArgs({ options: { delay: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const job = 'examples/log-errors/job.ts';
const logs = mkdtempSync(join(tmpdir(), 'redmap-delay-logs-'));
spawnSync(
  process.execPath,
  [
    join(root, 'node_modules/tsx/dist/cli.mjs'),
    'examples/log-errors/generate-logs.ts',
    logs,
    '--files',
    '24',
    '--total',
    '30MiB',
    '--seed',
    '13',
  ],
  {
    cwd: root,
    stdio: 'ignore',
  },
);
const files = readdirSync(logs).map((name) => join(logs, name));

/** Starts a child and resolves once a line of its output contains `ready`. */
function startUntil(command, args, env, ready) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const look = (chunk) => chunk.toString().includes(ready) && resolve(child);
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => reject(new Error(`${args.slice(0, 2).join(' ')} exited ${code} before "${ready}"`)));
  });
}

async function oneRun(url, runId) {
  const env = { REDIS_URL: url, REDMAP_LOG_LEVEL: 'warn', REDMAP_LOG_FORMAT: 'json' };
  const workers = await Promise.all(
    [1, 2].map(() =>
      startUntil(
        process.execPath,
        [
          cli,
          'worker',
          job,
          '--processes',
          '1',
          '--concurrency',
          '2',
          '--lock-duration',
          '2s',
          '--stalled-interval',
          '500ms',
          '--log-level',
          'info',
        ],
        env,
        'serving',
      ),
    ),
  );
  try {
    const started = process.hrtime.bigint();
    const submitted = spawnSync(
      process.execPath,
      [cli, 'submit', job, ...files, '--run-id', runId, '--chunk-size', '1', '--partitions', '4', '--wait'],
      {
        cwd: root,
        env: { ...process.env, ...env },
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      },
    );
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (submitted.status !== 0) throw new Error(`submit exited ${submitted.status}: ${submitted.stderr.slice(-2000)}`);
    const status = JSON.parse(
      spawnSync(process.execPath, [cli, 'status', runId, '--json'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' })
        .stdout,
    );
    return { runMs: Date.parse(status.finishedAt) - Date.parse(status.createdAt), wallMs, output: submitted.stdout };
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
  }
}

async function startRelay(delayMs) {
  const port = await freePort();
  const child = await startUntil(
    process.execPath,
    ['--import', 'tsx', join(root, 'test/support/delay-relay.ts'), String(port), `127.0.0.1:${redis.port}`, String(delayMs)],
    {},
    'relaying',
  );
  return { url: `redis://127.0.0.1:${port}`, child };
}

const redis = await startRedis();
const relays = [await startRelay(0), await startRelay(Number(values.delay))];
try {
  const variants = { direct: redis.url, 'relay, 0 ms': relays[0].url, [`relay, ${values.delay} ms each way`]: relays[1].url };
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  let expected;
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, url] of Object.entries(variants)) {
      const sample = await oneRun(url, `r${round}-${Object.keys(variants).indexOf(name)}`);
      expected ??= sample.output;
      if (sample.output !== expected) throw new Error(`${name}: the results differ from the first run's`);
      samples[name].push(sample);
      process.stderr.write(
        `  round ${round} ${name}: run ${(sample.runMs / 1000).toFixed(2)} s, submit wall ${(sample.wallMs / 1000).toFixed(2)} s\n`,
      );
    }
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const m = machine();
  const base = median(samples.direct.map((s) => s.runMs));
  const rows = Object.entries(samples).map(([name, list]) => {
    const run = median(list.map((s) => s.runMs));
    const wall = median(list.map((s) => s.wallMs));
    return `| ${name} | ${(run / 1000).toFixed(2)} (${(Math.min(...list.map((s) => s.runMs)) / 1000).toFixed(2)}–${(Math.max(...list.map((s) => s.runMs)) / 1000).toFixed(2)}) | ${(wall / 1000).toFixed(2)} | ${(run / base).toFixed(2)}x |`;
  });
  process.stdout.write(
    `### Multi-host run with network delay: 24 tasks, 2 workers\n\n` +
      `Command: \`npm run build && node bench/multihost-delay.mjs --delay ${values.delay} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}\n\n` +
      `| variant | run median (min–max) s | submit wall median s | time vs direct |\n|---|---|---|---|\n${rows.join('\n')}\n`,
  );
} finally {
  for (const relay of relays) relay.child.kill('SIGTERM');
  redis.stop();
  rmSync(logs, { recursive: true, force: true });
}
