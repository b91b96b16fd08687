/**
 * `npm run demo`: generates sample nginx logs (once), counts their error responses by status
 * and path with `redmap run` and 2 local worker processes, and prints the most frequent.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateLogs } from './log-errors/generate-logs.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = fileURLToPath(new URL('./log-errors/data/', import.meta.url));
const TOP = 10;

if (!existsSync(dataDir) || readdirSync(dataDir).filter((name) => name.endsWith('.log')).length === 0) {
  process.stderr.write(`demo: generating sample logs in ${dataDir}\n`);
  generateLogs({ outDir: dataDir, files: 64, totalBytes: 50 * 1024 * 1024, seed: 1 });
}
const logs = readdirSync(dataDir)
  .filter((name) => name.endsWith('.log'))
  .map((name) => `${dataDir}${name}`);

// The built CLI, as `npx redmap` runs it; from source when dist/ is missing.
const cli = existsSync(`${root}dist/cli/main.js`) ? [`${root}dist/cli/main.js`] : ['--import', 'tsx', `${root}cli/main.ts`];
const args = [...cli, 'run', 'examples/log-errors/job.ts', ...logs, '--workers', '2'];
process.stderr.write(`demo: redmap run examples/log-errors/job.ts examples/log-errors/data/*.log --workers 2\n`);
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
const code = await new Promise<number>((resolve) => child.on('close', (exitCode) => resolve(exitCode ?? 1)));
if (code !== 0) process.exit(code);

const results = output
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { key: string; value: number })
  .sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : 1));
const width = Math.max(...results.slice(0, TOP).map((entry) => String(entry.value).length));
process.stdout.write(`\nThe ${TOP} most frequent error responses (of ${results.length} status/path pairs):\n\n`);
for (const { key, value } of results.slice(0, TOP)) process.stdout.write(`  ${String(value).padStart(width)}  ${key}\n`);
process.stdout.write('\nAll of them: npx redmap run examples/log-errors/job.ts examples/log-errors/data/*.log\n');
