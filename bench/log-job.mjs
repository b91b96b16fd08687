// The log-errors job on ~1 GiB of generated nginx logs (64 skewed files, page cache warm):
// the fixed plain Node script (bench/baseline-node.mjs) against `redmap run` with 1 and 2
// local workers, interleaved rounds, every output checked against the GNU-tools pipeline
// before its time counts.
//
//   npm run build && node bench/log-job.mjs [--rounds 5] [--size 1GiB]
//
// Prints a Markdown section for bench/RESULTS.md on stdout; progress on stderr.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const bytes = files.reduce((sum, file) => sum + readFileSync(file).length, 0);

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

const redis = await startRedis();
try {
  const redmap = (workers) => () => {
    const sample = measure(
      process.execPath,
      [cli, 'run', 'examples/log-errors/job.ts', ...files, '--workers', String(workers), '--quiet'],
      {
        cwd: root,
        env: { REDIS_URL: redis.url, REDMAP_LOG_LEVEL: 'warn' },
        redis,
      },
    );
    return { ...sample, stdout: fromJsonLines(sample.stdout) };
  };
  const variants = [
    { name: 'plain Node script (baseline A)', run: () => measure(process.execPath, [join(root, 'bench/baseline-node.mjs'), ...files]) },
    { name: 'redmap run --workers 1', run: redmap(1) },
    { name: 'redmap run --workers 2', run: redmap(2) },
  ];
  const samples = interleave(variants, rounds, (name, output) => {
    if (output !== truth) {
      process.stderr.write(`${name}: output differs from the GNU-tools pipeline\n`);
      process.exit(1);
    }
  });
  const summaries = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, summarize(list)]));
  const m = machine();
  process.stdout.write(
    [
      `### Log job: ${(bytes / 2 ** 30).toFixed(2)} GiB, ${files.length} files, ${truth.split('\n').length - 1} result keys`,
      '',
      `Command: \`npm run build && node bench/log-job.mjs --rounds ${rounds} --size ${values.size}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, Redis ${m.redis} (private, no persistence) · load average at the end ${m.loadAverage}`,
      '',
      resultTable(summaries, 'plain Node script (baseline A)'),
      '',
      `Every output equalled the GNU-tools pipeline. ${rounds} interleaved rounds; CPU is user + system of the command and the worker processes it forked.`,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
}
