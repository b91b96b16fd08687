// --split: one big log file mapped as byte ranges, against the same bytes as 64 files, on 2
// warm worker processes. Both give the GNU-tools pipeline's answer for their bytes, checked
// every round; the question is what one file costs when it no longer means one task.
//
//   npm run build && node bench/split-file.mjs [--size 1GiB] [--split 64MiB] [--rounds 3]
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, resultTable, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    split: { type: 'string', default: '64MiB' },
    rounds: { type: 'string', default: '3' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(cli)) throw new Error('build first: npm run build');
const job = 'examples/log-errors/job.ts';

// The same 64 files as bench/log-job.mjs, and one file of their bytes end to end.
const dataDir = join(root, 'bench', 'data', `logs-${values.size}`);
if (!existsSync(join(dataDir, 'done'))) {
  process.stderr.write(`generating ${values.size} of logs in ${dataDir}\n`);
  const generator = join(root, 'examples/log-errors/generate-logs.ts');
  execFileSync(process.execPath, ['--import', 'tsx', generator, dataDir, '--files', '64', '--total', values.size], { stdio: 'inherit' });
  writeFileSync(join(dataDir, 'done'), '');
}
const files = readdirSync(dataDir)
  .filter((name) => name.endsWith('.log'))
  .sort()
  .map((name) => join(dataDir, name));
const oneFile = join(root, 'bench', 'data', `logs-${values.size}-one.log`);
if (!existsSync(oneFile)) {
  process.stderr.write(`concatenating the 64 files into ${oneFile}\n`);
  for (const file of files) appendFileSync(oneFile, readFileSync(file));
}
const bytes = statSync(oneFile).size;

process.stderr.write('warming the page cache and computing the GNU-tools ground truth\n');
const gnu = (paths) =>
  spawnSync(
    'bash',
    [
      '-c',
      `LC_ALL=C sed 's/\\r$//' "$@" | LC_ALL=C grep -aE '^[^"]*] "[A-Z]+ [^ "]+ HTTP/[^ "]+" [45][0-9]{2} [0-9]+ "[^"]*" "[^"]*"$' | LC_ALL=C sed -E 's/^[^"]*"[A-Z]+ ([^ ?]*)[^ ]* [^"]*" ([0-9]{3}) .*/\\2 \\1/' | LC_ALL=C sort | uniq -c | sed 's/^ *//'`,
      'gnu',
      ...paths,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 30 },
  ).stdout;
const truth = { one: gnu([oneFile]), many: gnu(files) };
const asCounts = (jsonLines) =>
  jsonLines
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const { key, value } = JSON.parse(line);
      return `${value} ${key}\n`;
    })
    .join('');

const redis = await startRedis();
let workers;
try {
  // At the default log level: startWarmWorkers waits for the info line that says they serve.
  workers = await startWarmWorkers(cli, job, { processes: 2, prefix: 'split', redisUrl: redis.url });
  const submit = (name, inputs) => ({
    name,
    run: () =>
      measure(process.execPath, [cli, 'submit', job, ...inputs, '--wait', '--quiet'], {
        cwd: root,
        env: { REDIS_URL: redis.url, REDMAP_PREFIX: 'split', REDMAP_LOG_LEVEL: 'warn' },
        redis,
        background: [workers.pid],
      }),
  });
  const oneName = `1 file, --split ${values.split}`;
  const samples = interleave(
    [submit(oneName, [oneFile, '--split', values.split]), submit('64 files', files)],
    Number(values.rounds),
    (name, output) => {
      if (asCounts(output) !== (name === oneName ? truth.one : truth.many)) throw new Error(`${name}: not the GNU-tools answer`);
    },
  );
  const summaries = Object.fromEntries(Object.entries(samples).map(([name, runs]) => [name, summarize(runs)]));
  const m = machine();
  process.stdout.write(
    [
      `### One ${values.size} log file with --split ${values.split} vs the same bytes as 64 files, 2 warm workers`,
      '',
      `Command: \`npm run build && node bench/split-file.mjs --size ${values.size} --split ${values.split} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node} · ${(bytes / 2 ** 20).toFixed(0)} MiB · load ${m.loadAverage}`,
      '',
      'CPU includes the warm workers. Both outputs equal the GNU-tools pipeline over their bytes, every round.',
      '',
      resultTable(summaries, '64 files'),
      '',
    ].join('\n'),
  );
} finally {
  await workers?.stop();
  redis.stop();
}
