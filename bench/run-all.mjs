// `npm run bench`: every benchmark in turn, each with its defaults (5 interleaved rounds where
// it repeats), their Markdown gathered on stdout and in bench/out/report.md. A benchmark
// exits non-zero only when an output is wrong; so does this.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const benches = [
  'startup.mjs',
  'log-job.mjs',
  'scaling.mjs',
  'tiny-tasks.mjs',
  'many-inputs.mjs',
  'big-reduce.mjs',
  'isolation.mjs',
  'io-bound.mjs',
];
const sections = [];
for (const bench of benches) {
  process.stderr.write(`\n== bench/${bench}\n`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [join(root, 'bench', bench)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    process.stderr.write(`bench/${bench} failed (exit ${result.status})\n`);
    process.exit(1);
  }
  sections.push(result.stdout);
  process.stderr.write(`== bench/${bench} took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
const report = sections.join('\n');
mkdirSync(join(root, 'bench', 'out'), { recursive: true });
writeFileSync(join(root, 'bench', 'out', 'report.md'), report);
process.stdout.write(report);
