// The log-errors job on ~1 GiB of generated nginx logs (64 skewed files, page cache warm):
// every baseline the post and users compare with, and redmap cold, warm and with 1 worker,
// in interleaved rounds; every output is checked against the GNU-tools pipeline first.
//
//   npm run build && node bench/log-job.mjs [--rounds 5] [--size 1GiB]
//
// Baselines: A, the plain Node script (baseline-node.mjs); B, Python with multiprocessing as
// the post does it ((i) one process, (ii) two processes with task and result queues, (iii)
// Pool.map then a second Pool.map to reduce); C, the same job hand-rolled on BullMQ (a flow,
// one child per file, 2 worker processes already running).
// Prints a Markdown section for bench/RESULTS.md on stdout; progress on stderr.
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, resultTable, startRedis, summarize } from './harness.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, size: { type: 'string', default: '1GiB' } } });
const rounds = Number(values.rounds);
const root = new URL('..', import.meta.url).pathname;
const dataDir = join(root, 'bench', 'data', `logs-${values.size}`);
const cli = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(cli)) throw new Error('build first: npm run build');

if (!existsSync(join(dataDir, 'done'))) {
  process.stderr.write(`generating ${values.size} of logs in ${dataDir}\n`);
  execFileSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'examples/log-errors/generate-logs.ts'), dataDir, '--files', '64', '--total', values.size],
    {
      stdio: 'inherit',
    },
  );
  writeFileSync(join(dataDir, 'done'), '');
}
const files = readdirSync(dataDir)
  .filter((name) => name.endsWith('.log'))
  .map((name) => join(dataDir, name));
const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);

process.stderr.write('warming the page cache and computing the GNU-tools ground truth\n');
const pipeline = `LC_ALL=C sed 's/\\r$//' "$@" | LC_ALL=C grep -aE '^[^"]*] "[A-Z]+ [^ "]+ HTTP/[^ "]+" [45][0-9]{2} [0-9]+ "[^"]*" "[^"]*"$' | LC_ALL=C sed -E 's/^[^"]*"[A-Z]+ ([^ ?]*)[^ ]* [^"]*" ([0-9]{3}) .*/\\2 \\1/' | LC_ALL=C sort | uniq -c | sed 's/^ *//'`;
const truth = spawnSync('bash', ['-c', pipeline, 'gnu', ...files], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;

/** `COUNT KEY` lines from redmap's JSON Lines, to compare with the pipeline. */
const fromJsonLines = (text) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const { key, value } = JSON.parse(line);
      return `${value} ${key}\n`;
    })
    .join('');

function startBackground(args, env) {
  const child = fork(args[0], args.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return child;
}

const redis = await startRedis();
const background = [];
try {
  const env = { REDIS_URL: redis.url, REDMAP_LOG_LEVEL: 'warn' };
  // Warm processes, started once and kept across rounds: 2 redmap workers, 2 BullMQ workers.
  background.push(startBackground([cli, 'worker', 'examples/log-errors/job.ts', '--processes', '2'], { ...env, REDMAP_PREFIX: 'warm' }));
  for (let i = 0; i < 2; i++) background.push(startBackground([join(root, 'bench/bullmq-flow.mjs'), 'worker', redis.url], {}));
  await new Promise((resolve) => setTimeout(resolve, 3000));

  const python = (script) => () => measure('python3', [join(root, 'bench/python', script), ...files], { env: { PROCESSES: '2' } });
  const redmap = (args, prefix) => () => {
    const sample = measure(process.execPath, [cli, ...args, 'examples/log-errors/job.ts', ...files, '--quiet'], {
      cwd: root,
      env: { ...env, REDMAP_PREFIX: prefix },
      redis,
    });
    return { ...sample, stdout: fromJsonLines(sample.stdout) };
  };
  const variants = [
    { name: 'A: plain Node script', run: () => measure(process.execPath, [join(root, 'bench/baseline-node.mjs'), ...files]) },
    { name: 'B(i): Python, one process', run: python('log_single.py') },
    { name: 'B(ii): Python, 2 processes, queues', run: python('log_queues.py') },
    { name: 'B(iii): Python, Pool.map map-reduce', run: python('log_pool.py') },
    {
      name: 'C: BullMQ flow, 2 warm workers',
      run: () => measure(process.execPath, [join(root, 'bench/bullmq-flow.mjs'), 'submit', redis.url, ...files], { redis }),
    },
    { name: 'redmap cold: run --workers 2', run: redmap(['run', '--workers', '2'], 'cold') },
    { name: 'redmap warm: submit --wait, 2 workers', run: redmap(['submit', '--wait'], 'warm') },
    { name: 'redmap cold: run --workers 1', run: redmap(['run', '--workers', '1'], 'cold') },
  ];
  const samples = interleave(variants, rounds, (name, output) => {
    if (output !== truth) {
      process.stderr.write(`${name}: output differs from the GNU-tools pipeline\n`);
      process.exit(1);
    }
  });
  const summaries = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, summarize(list)]));
  const fastestPython = Math.min(
    ...Object.entries(summaries)
      .filter(([name]) => name.startsWith('B'))
      .map(([, s]) => s.wallMs.median),
  );
  const ratio = (name, base) => (base / summaries[name].wallMs.median).toFixed(2);
  const m = machine();
  process.stdout.write(
    [
      `### Log job: ${(bytes / 2 ** 30).toFixed(2)} GiB, ${files.length} files, ${truth.split('\n').length - 1} result keys`,
      '',
      `Command: \`npm run build && node bench/log-job.mjs --rounds ${rounds} --size ${values.size}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, Redis ${m.redis} (private, no persistence) · load average at the end ${m.loadAverage}`,
      '',
      resultTable(summaries, 'A: plain Node script'),
      '',
      `Gates: warm is ${ratio('redmap warm: submit --wait, 2 workers', fastestPython)}x the fastest Python version (≥ 2) and ` +
        `${ratio('redmap warm: submit --wait, 2 workers', summaries['A: plain Node script'].wallMs.median)}x baseline A (≥ 2.5); ` +
        `cold is ${ratio('redmap cold: run --workers 2', fastestPython)}x the fastest Python version (≥ 1.5).`,
      '',
      `Every output equalled the GNU-tools pipeline. ${rounds} interleaved rounds; CPU is user + system of the command and the processes it forked (warm workers and Redis are not in it: their CPU shows in the Redis column and not at all, respectively).`,
      '',
    ].join('\n'),
  );
} finally {
  // The background workers go before their Redis does, so they leave without connection errors.
  await Promise.all(background.map((child) => new Promise((resolve) => child.once('exit', resolve).kill('SIGKILL'))));
  redis.stop();
}
