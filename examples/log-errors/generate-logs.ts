/**
 * Writes deterministic nginx "combined" access logs for the log-errors example:
 *   npx tsx examples/log-errors/generate-logs.ts OUTDIR [--files 64] [--total 50MiB] [--seed 1]
 * One file per day, access-000.log onwards. Sizes are skewed (a few files ten times the
 * others), as on a fleet where some hosts take most of the traffic: that is what makes
 * work distribution matter.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BlockWriter,
  createRandom,
  ensureDir,
  formatSize,
  parseGeneratorArgs,
  skewedSizes,
  type GeneratorOptions,
  type Random,
} from './generator-kit.js';
import { NginxTraffic } from './nginx-traffic.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
/** A typical line's length, used only to spread a file's lines evenly over its day. */
const TYPICAL_LINE_BYTES = 240;
const FIRST_DAY = Date.UTC(2024, 2, 1);

export interface GeneratedLogs {
  paths: string[];
  bytes: number;
  lines: number;
}

export function generateLogs(options: GeneratorOptions): GeneratedLogs {
  ensureDir(options.outDir);
  const random = createRandom(options.seed);
  const traffic = new NginxTraffic(random);
  const result: GeneratedLogs = { paths: [], bytes: 0, lines: 0 };
  for (const [index, size] of skewedSizes(random, options.files, options.totalBytes).entries()) {
    const path = join(options.outDir, `access-${String(index).padStart(3, '0')}.log`);
    const writer = new BlockWriter(path);
    result.lines += writeDay(writer, traffic, random, size, new Date(FIRST_DAY + index * 86_400_000));
    writer.close();
    result.paths.push(path);
    result.bytes += writer.written;
  }
  return result;
}

/** Lines until the file reaches `size`, with timestamps that climb through one day. */
function writeDay(writer: BlockWriter, traffic: NginxTraffic, random: Random, size: number, day: Date): number {
  const date = `${TWO_DIGITS[day.getUTCDate()]}/${MONTHS[day.getUTCMonth()]}/${day.getUTCFullYear()}`;
  const secondsPerLine = 86_400 / Math.max(1, size / TYPICAL_LINE_BYTES);
  let clock = 0;
  let shownSecond = -1;
  let time = '';
  let lines = 0;
  while (writer.size < size) {
    clock = Math.min(86_399, clock + secondsPerLine * 2 * random.next());
    const second = Math.floor(clock);
    if (second !== shownSecond) {
      shownSecond = second;
      time = `${date}:${TWO_DIGITS[Math.floor(second / 3600)]}:${TWO_DIGITS[Math.floor(second / 60) % 60]}:${TWO_DIGITS[second % 60]} +0000`;
    }
    writer.write(traffic.line(time));
    lines++;
  }
  return lines;
}

function main(): void {
  const usage = 'npx tsx examples/log-errors/generate-logs.ts OUTDIR [--files 64] [--total 50MiB] [--seed 1]';
  const options = parseGeneratorArgs(process.argv.slice(2), usage, { files: 64, total: '50MiB' });
  const started = performance.now();
  const { paths, bytes, lines } = generateLogs(options);
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(
    `wrote ${paths.length} files, ${formatSize(bytes)}, ${lines} lines to ${options.outDir} in ${seconds.toFixed(1)}s` +
      ` (${(bytes / 1e6 / seconds).toFixed(0)} MB/s)\n`,
  );
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
