// Baselines A′ and A″: a job's own compiled map on every file in plain Node processes, with
// no Redis and no engine. With --processes N the files are split into N parts of about equal
// bytes (greedy, largest file first); this process maps the first part while N - 1 forked
// copies of it map the others and send back their combined counts, which it merges, reduces
// and prints as `COUNT KEY` lines sorted by key bytes.
//
//   node bench/plain-map.mjs MODULE [--processes N] FILE…   (MODULE: the job as redmap compiles it)
import { fork } from 'node:child_process';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatCounts } from './naive-log.mjs';
import { combineInto, importCompiledJob, mapItems, reduceAll } from './plain-job.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { processes: { type: 'string', default: '1' }, part: { type: 'boolean', default: false } },
});
const [modulePath, ...files] = positionals;

/** Files in `count` parts of about equal total size: each file, largest first, to the lightest part. */
function splitBySize(paths, count) {
  const parts = Array.from({ length: count }, () => ({ bytes: 0, files: [] }));
  const sized = paths.map((path) => ({ path, bytes: statSync(path).size })).sort((a, b) => b.bytes - a.bytes);
  for (const file of sized) {
    const lightest = parts.reduce((min, part) => (part.bytes < min.bytes ? part : min));
    lightest.files.push(file.path);
    lightest.bytes += file.bytes;
  }
  return parts.map((part) => part.files);
}

if (values.part) {
  // A forked part: its combined counts go back to the first process, which prints.
  const totals = await mapItems(await importCompiledJob(modulePath), files);
  process.send([...totals], () => process.disconnect());
} else {
  const [own, ...others] = splitBySize(files, Number(values.processes));
  // Forked before this process imports the job, so every part starts as early as it can.
  const partials = others.map(
    (part) =>
      new Promise((resolve, reject) => {
        const child = fork(new URL(import.meta.url).pathname, [modulePath, '--part', ...part], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        child.once('message', resolve);
        // After a message this changes nothing; without one, the counts are missing.
        child.once('exit', (code) => reject(new Error(`a part exited (${code}) without sending its counts`)));
      }),
  );
  const job = await importCompiledJob(modulePath);
  const totals = await mapItems(job, own);
  for (const pairs of await Promise.all(partials)) combineInto(job, totals, pairs);
  process.stdout.write(formatCounts(await reduceAll(job, totals)));
}
