// Throughput over a network: Redis in one network namespace, 2 worker processes in another,
// the producer in the root namespace, each reaching Redis over its own veth link. Every
// round runs each case without delay and with DELAY ms each way (netem where the kernel has
// it, else the user-space relay of test/support/link-delay.ts, measured at 0 ms too so its
// own cost shows). Cases: a chunked word count (200,000 lines, 500 per task) and tiny tasks
// (3,000 lines, one per task). A run's time is Redis's clock from its creation to its end,
// without the CLI's start-up. The gate: the chunked run keeps at least 80% of its no-delay
// speed.
// Needs root (ip netns).
//
//   npm run build && node --import tsx bench/network.mjs [--rounds 3] [--delay 2]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { delayLinks } from '../test/support/link-delay.ts';
import { createTestNetwork, missingForHosts, missingNetem } from '../test/support/netns.ts';
import { machine, summarize } from './harness.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, delay: { type: 'string', default: '2' }, concurrency: { type: 'string' } },
});
const delayMs = Number(values.delay);
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const JOB = 'test/fixtures/jobs/word-count-lines.ts';
const missing = missingForHosts();
if (missing.length > 0) throw new Error(`this machine cannot build test hosts: ${missing.join('; ')}`);

const dir = mkdtempSync(join(tmpdir(), 'redmap-net-'));
const words = Array.from({ length: 5000 }, (_, i) => `word${(i * 7919) % 2000}`);
// 200,000 lines: long enough that a run's fixed round trips (create, seal, reduce) do not hide its throughput.
const lines = Array.from({ length: 200_000 }, (_, i) =>
  Array.from({ length: 12 }, (_, j) => words[(i * 31 + j * 17) % words.length]).join(' '),
);
writeFileSync(join(dir, 'lines.txt'), `${lines.join('\n')}\n`);
writeFileSync(join(dir, 'tiny.txt'), `${lines.slice(0, 3000).join('\n')}\n`);
const cases = [
  {
    name: `chunked: ${lines.length} lines, 500 per task`,
    file: join(dir, 'lines.txt'),
    chunk: 500,
    items: lines.length,
    tasks: lines.length / 500,
  },
  { name: 'tiny: 3000 lines, 1 per task', file: join(dir, 'tiny.txt'), chunk: 1, items: 3000, tasks: 3000 },
];

const network = createTestNetwork();
const processes = new Set();
const inNamespace = (namespace, command, args, env = {}) => {
  const child = spawn('ip', ['netns', 'exec', namespace, command, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  processes.add(child);
  child.once('exit', () => processes.delete(child));
  return child;
};

/** Worker processes on host w1 reaching Redis at `port`; resolves once they serve. */
async function startWorkers(port, prefix) {
  const worker = inNamespace(
    network.hostNamespace.w1,
    process.execPath,
    [cli, 'worker', JOB, '--processes', '2', ...(values.concurrency ? ['--concurrency', values.concurrency] : [])],
    {
      REDIS_URL: `redis://${network.redisAddress('w1')}:${port}`,
      REDMAP_PREFIX: prefix,
      REDMAP_LOG_FORMAT: 'json',
    },
  );
  await new Promise((resolve, reject) => {
    let seen = '';
    worker.stderr.on('data', (chunk) => {
      seen += chunk;
      if (/worker process\(es\) serving/.test(seen)) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`worker exited ${code}: ${seen}`)));
  });
  worker.stderr.resume();
  return () => new Promise((resolve) => worker.once('exit', resolve).kill('SIGTERM'));
}

/** Submits a case from the root namespace and returns its output and its time by Redis's clock. */
function runCase(item, port, prefix, runId) {
  const env = {
    ...process.env,
    REDIS_URL: `redis://${network.redisAddress('root')}:${port}`,
    REDMAP_PREFIX: prefix,
    REDMAP_LOG_LEVEL: 'warn',
  };
  const submitted = spawnSync(
    process.execPath,
    [cli, 'submit', JOB, '--input-file', item.file, '--chunk-size', String(item.chunk), '--run-id', runId, '--wait', '--quiet'],
    {
      cwd: root,
      env,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    },
  );
  if (submitted.status !== 0) throw new Error(`${item.name}: submit exited ${submitted.status}: ${submitted.stderr}`);
  const status = JSON.parse(spawnSync(process.execPath, [cli, 'status', runId, '--json'], { cwd: root, env, encoding: 'utf8' }).stdout);
  return { stdout: submitted.stdout, runMs: Date.parse(status.finishedAt) - Date.parse(status.createdAt) };
}

try {
  inNamespace(network.redisNamespace, 'redis-server', [
    '--port',
    '6379',
    '--bind',
    '0.0.0.0',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
  ]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const direct = { port: 6379, mechanism: 'none', remove: async () => {} };
  const samples = {};
  const expected = {};
  let mechanism = '';
  let serial = 0;
  const variants = [
    { label: 'no delay', ms: 0 },
    { label: `${delayMs} ms each way`, ms: delayMs },
    // The relay's own cost (an extra hop through a Node process), apart from its delay.
    ...(missingNetem(network) === undefined ? [] : [{ label: 'relay at 0 ms', ms: 0, relay: true }]),
  ];
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const variant of variants) {
      const link = variant.ms > 0 || variant.relay ? await delayLinks(network, variant.ms, 6379) : direct;
      if (variant.ms > 0) mechanism = link.mechanism;
      const prefix = `net${round}${variant.label.replace(/\W/g, '')}`;
      const stopWorkers = await startWorkers(link.port, prefix);
      try {
        for (const item of cases) {
          const sample = runCase(item, link.port, prefix, `r${serial++}`);
          expected[item.name] ??= sample.stdout;
          if (sample.stdout !== expected[item.name]) throw new Error(`${item.name}: the result changed (${variant.label})`);
          (samples[`${item.name}|${variant.label}`] ??= []).push({ wallMs: sample.runMs, cpuMs: 0, rssMb: 0 });
          process.stderr.write(`  round ${round}, ${variant.label}, ${item.name}: ${sample.runMs} ms\n`);
        }
      } finally {
        await stopWorkers();
        await link.remove();
      }
    }
  }
  const labels = [...new Set(Object.keys(samples).map((key) => key.split('|')[1]))];
  const rows = cases.map((item) => {
    const base = summarize(samples[`${item.name}|no delay`]).wallMs.median;
    const cells = labels.map((label) => {
      const runMs = summarize(samples[`${item.name}|${label}`]).wallMs.median;
      return `${(runMs / 1000).toFixed(2)} s, ${Math.round((item.items * 1000) / runMs)} items/s, ${Math.round((item.tasks * 1000) / runMs)} tasks/s (${((100 * base) / runMs).toFixed(0)}%)`;
    });
    return `| ${item.name} | ${cells.join(' | ')} |`;
  });
  const m = machine();
  process.stdout.write(
    [
      `### Over a network: Redis, 2 worker processes and the producer on 3 hosts (network namespaces)`,
      '',
      `Command: \`npm run build && node --import tsx bench/network.mjs --rounds ${values.rounds} --delay ${values.delay}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage} · delay added by: ${mechanism}`,
      '',
      `| run (median of ${values.rounds}; speed kept vs no delay) | ${labels.join(' | ')} |`,
      `|---|${labels.map(() => '---').join('|')}|`,
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  for (const child of processes) child.kill('SIGKILL');
  network.destroy();
  rmSync(dir, { recursive: true, force: true });
}
