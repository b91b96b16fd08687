// The log-errors job on ~1 GiB of generated nginx logs (64 skewed files, page cache warm):
// every baseline the post and users compare with, and redmap cold, warm and with 1 worker,
// in interleaved rounds; every output is checked against the GNU-tools pipeline first.
//
//   npm run build && node bench/log-job.mjs [--rounds 5] [--size 1GiB] [--efficiency-only] [--compare DIR]
//
// --efficiency-only runs A″ and redmap warm and cold alone: the engine-efficiency ratios in a
// quarter of the time. --compare DIR adds redmap warm and cold of another checkout's build
// (its dist/) to the same rounds: before and after under the same load.
//
// Baselines: A, the plain Node script (baseline-node.mjs: readline and a regular expression
// per line); B, Python with multiprocessing as the post does it ((i) one process, (ii) two
// processes with task and result queues, (iii) Pool.map then a second Pool.map to reduce);
// C, the same job hand-rolled on BullMQ (a flow, one child per file, 2 worker processes
// already running). Like with like, the job's own map (compiled as redmap compiles it, so
// no TypeScript loader) in place of A's parser: A′ in one plain Node process, A″ in two on
// halves of the bytes, merged at the end (plain-map.mjs), C′ through the BullMQ flow. Engine
// efficiency is A″'s wall time over redmap's: what the engine costs on top of the work.
// Prints a Markdown section for bench/RESULTS.md on stdout; progress on stderr.
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, resultTable, startRedis, summarize } from './harness.mjs';
import { asCountLines, generatedLogs, gnuLogCounts } from './log-data.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    size: { type: 'string', default: '1GiB' },
    'efficiency-only': { type: 'boolean', default: false },
    compare: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const loadAtStart = loadavg()
  .map((value) => value.toFixed(2))
  .join(' ');
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(cli)) throw new Error('build first: npm run build');
const files = generatedLogs(values.size);
const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);

process.stderr.write('warming the page cache and computing the GNU-tools ground truth\n');
const truth = gnuLogCounts(files);

/** Every BullMQ flow worker started, so that all are stopped whatever fails. */
const flowWorkers = [];

/** The BullMQ flow's worker processes (2), for C (plain counting) or C′ (the job's map): resolves once they serve. */
async function startFlowWorkers(redisUrl, jobArgs) {
  const children = [];
  for (let i = 0; i < 2; i++) {
    const child = fork(join(root, 'bench/bullmq-flow.mjs'), ['worker', redisUrl, ...jobArgs], { stdio: 'ignore' });
    children.push(child);
    flowWorkers.push(child);
    await new Promise((resolve) => child.once('message', resolve));
  }
  return children;
}

// The job as redmap's workers import it: compiled once by redmap's own compiler, from its cache after that.
const { compileJob } = await import(join(root, 'dist/shared/job/job-compiler.js'));
const { modulePath } = await compileJob(join(root, 'examples/log-errors/job.ts'));

const redis = await startRedis();
let warm;
let comparedWarm;
try {
  const env = { REDIS_URL: redis.url, REDMAP_LOG_LEVEL: 'warn' };
  // Warm processes, started once and kept across rounds: 2 redmap workers, 2 BullMQ workers for C and 2 for C′.
  warm = await startWarmWorkers(cli, 'examples/log-errors/job.ts', { processes: 2, prefix: 'warm', redisUrl: redis.url });
  const compared = values.compare && resolve(values.compare);
  const comparedCli = compared && join(compared, 'dist', 'cli', 'main.js');
  if (comparedCli && !existsSync(comparedCli)) throw new Error(`--compare ${values.compare}: no ${comparedCli}; build that checkout first`);
  comparedWarm =
    comparedCli &&
    (await startWarmWorkers(comparedCli, 'examples/log-errors/job.ts', { processes: 2, prefix: 'warm-compared', redisUrl: redis.url }));
  const flow = await startFlowWorkers(redis.url, []);
  const flowWithJob = await startFlowWorkers(redis.url, ['--job', modulePath]);

  const python = (script) => () => measure('python3', [join(root, 'bench/python', script), ...files], { env: { PROCESSES: '2' } });
  const plain = (processes) => () =>
    measure(process.execPath, [join(root, 'bench/plain-map.mjs'), modulePath, '--processes', String(processes), ...files]);
  const bullmq = (workers, jobArgs) => () =>
    measure(process.execPath, [join(root, 'bench/bullmq-flow.mjs'), 'submit', redis.url, ...jobArgs, ...files], {
      redis,
      background: workers.map((child) => child.pid),
    });
  /**
   * Where a redmap command's wall time went, from its run's own timestamps: start-up (to the
   * run's creation), map phase (to the flip to reducing), reduce, and results and exit.
   */
  const phasesOf = (prefix, startedAt, endedAt) => {
    const runId = redis.cli('zrevrange', `${prefix}:runs`, '0', '0');
    const [created, reducing, finished] = redis
      .cli('hmget', `${prefix}:run:{${runId}}:meta`, 'createdAt', 'reducingAt', 'finishedAt')
      .split('\n')
      .map(Number);
    return { startUp: created - startedAt, map: reducing - created, reduce: finished - reducing, resultsAndExit: endedAt - finished };
  };
  const redmap =
    (args, prefix, background = [], checkout = root) =>
    () => {
      const startedAt = Date.now();
      const sample = measure(
        process.execPath,
        [join(checkout, 'dist', 'cli', 'main.js'), ...args, 'examples/log-errors/job.ts', ...files, '--quiet'],
        {
          cwd: checkout,
          env: { ...env, REDMAP_PREFIX: prefix },
          redis,
          background,
        },
      );
      return { ...sample, stdout: asCountLines(sample.stdout), phases: phasesOf(prefix, startedAt, Date.now()) };
    };
  const A = 'A: plain Node script';
  const A2 = 'A″: job’s map, 2 plain Node processes';
  const WARM = 'redmap warm: submit --wait, 2 workers';
  const COLD = 'redmap cold: run --workers 2';
  const WARM_COMPARED = `${WARM} (build in ${values.compare})`;
  const COLD_COMPARED = `${COLD} (build in ${values.compare})`;
  const variants = [
    { name: A, run: () => measure(process.execPath, [join(root, 'bench/baseline-node.mjs'), ...files]) },
    { name: 'A′: job’s map, 1 plain Node process', run: plain(1) },
    { name: A2, run: plain(2) },
    { name: 'B(i): Python, one process', run: python('log_single.py') },
    { name: 'B(ii): Python, 2 processes, queues', run: python('log_queues.py') },
    { name: 'B(iii): Python, Pool.map map-reduce', run: python('log_pool.py') },
    { name: 'C: BullMQ flow, 2 warm workers', run: bullmq(flow, []) },
    { name: 'C′: BullMQ flow, job’s map, 2 warm workers', run: bullmq(flowWithJob, ['--job', modulePath]) },
    { name: COLD, run: redmap(['run', '--workers', '2'], 'cold') },
    { name: WARM, run: redmap(['submit', '--wait'], 'warm', [warm.pid]) },
    { name: 'redmap cold: run --workers 1', run: redmap(['run', '--workers', '1'], 'cold') },
    ...(compared
      ? [
          { name: COLD_COMPARED, run: redmap(['run', '--workers', '2'], 'cold-compared', [], compared) },
          { name: WARM_COMPARED, run: redmap(['submit', '--wait'], 'warm-compared', [comparedWarm.pid], compared) },
        ]
      : []),
  ];
  const chosen = values['efficiency-only']
    ? variants.filter(({ name }) => [A2, WARM, COLD, WARM_COMPARED, COLD_COMPARED].includes(name))
    : variants;
  const samples = interleave(chosen, rounds, (name, output) => {
    if (output === truth) return;
    // Kept for a look, and thrown rather than exited, so the workers and Redis below are stopped on the way out.
    const kept = join(root, 'bench', 'out', 'log-job-mismatch.txt');
    mkdirSync(dirname(kept), { recursive: true });
    writeFileSync(kept, output);
    const [got, want] = [output.split('\n'), truth.split('\n')];
    const at = want.findIndex((line, i) => got[i] !== line);
    throw new Error(
      `${name}: output differs from the GNU-tools pipeline: ${got.length - 1} lines against ${want.length - 1}, ` +
        `first at line ${at + 1}: ${JSON.stringify(got[at])} where the pipeline has ${JSON.stringify(want[at])} (whole output in ${kept})`,
    );
  });
  const summaries = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, summarize(list)]));
  const everything = !values['efficiency-only'];
  const fastestPython = Math.min(
    ...Object.entries(summaries)
      .filter(([name]) => name.startsWith('B'))
      .map(([, s]) => s.wallMs.median),
  );
  const ratio = (name, base) => (base / summaries[name].wallMs.median).toFixed(2);
  /** A″ over a redmap variant: of medians, and the range of the rounds' own ratios (each round ran both under one load). */
  const efficiency = (name) => {
    const perRound = samples[name].map((sample, i) => samples[A2][i].wallMs / sample.wallMs);
    return `**${ratio(name, summaries[A2].wallMs.median)}** (rounds ${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`;
  };
  const medianOf = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const phaseLine = (name) => {
    const phases = samples[name].map((sample) => sample.phases);
    const part = (key) => `${(medianOf(phases.map((phase) => phase[key])) / 1000).toFixed(2)}`;
    return `- ${name}: start-up ${part('startUp')} s, map phase ${part('map')} s, reduce ${part('reduce')} s, results and exit ${part('resultsAndExit')} s`;
  };
  const loads = Object.values(samples)
    .flat()
    .map((sample) => sample.loadAtStart)
    .sort((a, b) => a - b);
  const m = machine();
  process.stdout.write(
    [
      `### Log job: ${(bytes / 2 ** 30).toFixed(2)} GiB, ${files.length} files, ${truth.split('\n').length - 1} result keys`,
      '',
      `Command: \`npm run build && node bench/log-job.mjs --rounds ${rounds} --size ${values.size}${everything ? '' : ' --efficiency-only'}${compared ? ` --compare ${values.compare}` : ''}\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${m.cpu}, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, Redis ${m.redis} (private, no persistence) · load average at the start ${loadAtStart}, at the end ${m.loadAverage}; 1-minute load when each command started: median ${loads[Math.floor(loads.length / 2)].toFixed(2)}, ${loads[0].toFixed(2)}–${loads.at(-1).toFixed(2)}`,
      '',
      everything ? resultTable(summaries, A, A2) : resultTable(summaries, A2),
      '',
      "Where redmap's wall time goes (medians of the rounds, from each run's own timestamps: created, flipped to reducing, finished):",
      '',
      ...Object.keys(samples)
        .filter((name) => name.startsWith('redmap'))
        .map(phaseLine),
      '',
      `Engine efficiency (A″'s wall time over redmap's, the same map on the same 2 processes' worth of CPU): warm ${efficiency(WARM)}, cold ${efficiency(COLD)}` +
        (compared ? `; the build in ${values.compare}: warm ${efficiency(WARM_COMPARED)}, cold ${efficiency(COLD_COMPARED)}.` : '.'),
      '',
      ...(everything
        ? [
            `Gates: warm is ${ratio(WARM, fastestPython)}x the fastest Python version (≥ 2) and ` +
              `${ratio(WARM, summaries[A].wallMs.median)}x baseline A (≥ 2.5); ` +
              `cold is ${ratio(COLD, fastestPython)}x the fastest Python version (≥ 1.5).`,
            '',
          ]
        : []),
      `Every output equalled the GNU-tools pipeline. ${rounds} interleaved rounds; CPU is user + system of the command and the processes it forked, and for C, C′ and redmap warm that of their warm workers during the command; Redis's is in its own column.`,
      '',
    ].join('\n'),
  );
} finally {
  // The background workers go before their Redis does, so they leave without connection errors.
  await Promise.all(flowWorkers.map((child) => new Promise((resolve) => child.once('exit', resolve).kill('SIGKILL'))));
  await warm?.stop();
  await comparedWarm?.stop();
  redis.stop();
}
