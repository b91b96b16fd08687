// What the log benchmarks share: the generated nginx logs (64 skewed files of a given total
// size, made once under bench/data), the GNU-tools count of their error lines, written apart
// from redmap so it can check it, and redmap's JSON Lines in that count's form.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** The 64 log files of `size` (e.g. "1GiB"), sorted, generated on first use. */
export function generatedLogs(size) {
  const dataDir = join(root, 'bench', 'data', `logs-${size}`);
  if (!existsSync(join(dataDir, 'done'))) {
    process.stderr.write(`generating ${size} of logs in ${dataDir}\n`);
    const generator = join(root, 'examples/log-errors/generate-logs.ts');
    execFileSync(process.execPath, ['--import', 'tsx', generator, dataDir, '--files', '64', '--total', size], { stdio: 'inherit' });
    writeFileSync(join(dataDir, 'done'), '');
  }
  return readdirSync(dataDir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => join(dataDir, name));
}

/** The grammar of examples/log-errors/README.md, as sed and grep: `COUNT STATUS PATH` lines in byte order. */
const LOG_PIPELINE = `LC_ALL=C sed 's/\\r$//' "$@" | LC_ALL=C grep -aE '^[^"]*] "[A-Z]+ [^ "]+ HTTP/[^ "]+" [45][0-9]{2} [0-9]+ "[^"]*" "[^"]*"$' | LC_ALL=C sed -E 's/^[^"]*"[A-Z]+ ([^ ?]*)[^ ]* [^"]*" ([0-9]{3}) .*/\\2 \\1/' | LC_ALL=C sort | uniq -c | sed 's/^ *//'`;

/** The GNU-tools count of the files' error lines (reading them also warms the page cache). */
export function gnuLogCounts(files) {
  return spawnSync('bash', ['-c', LOG_PIPELINE, 'gnu', ...files], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
}

/** redmap's JSON Lines output as `COUNT KEY` lines, to compare with gnuLogCounts. */
export function asCountLines(jsonLines) {
  return jsonLines
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const { key, value } = JSON.parse(line);
      return `${value} ${key}\n`;
    })
    .join('');
}
