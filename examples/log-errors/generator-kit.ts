/**
 * What the example data generators share: a seeded random source, a Zipf sampler, file
 * sizes skewed on purpose, the command line (OUTDIR --files --total --seed) and a writer
 * that hands the disk big buffers. Same seed, same bytes, on every machine.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** xorshift32 with a multiplied output: tiny, fast, and good enough for test data (not for anything secret). */
export function createRandom(seed: number): Random {
  // Spread the seed so nearby seeds (1, 2, 3) give unrelated streams; xorshift must never hold 0.
  let state = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (Math.imul(state, 0x2545f491) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)]! };
}

/** Draws indexes 0..n-1 with probability proportional to 1/(i+1)^exponent: a few very common, a long tail. */
export function zipfSampler(random: Random, n: number, exponent = 1): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) cumulative[i] = total += 1 / Math.pow(i + 1, exponent);
  return () => {
    const target = random.next() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/** Splits `total` bytes over `files` files so that about one file in eight is ten times the others. */
export function skewedSizes(random: Random, files: number, total: number): number[] {
  const weights = Array.from({ length: files }, () => (random.next() < 0.125 ? 10 : 0.5 + random.next()));
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((weight) => Math.round((total * weight) / sum));
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "1GiB", "20MiB", "500kB", "1048576" → bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = UNITS[(match?.[2] || 'b').toLowerCase()];
  if (!match || unit === undefined) throw new Error(`--total: expected a size like 1GiB, 20MiB or 500kB, got "${text}"`);
  return Math.round(Number(match[1]) * unit);
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export interface GeneratorOptions {
  outDir: string;
  files: number;
  totalBytes: number;
  seed: number;
}

/** Reads `OUTDIR [--files N] [--total SIZE] [--seed N]`; exits with a usage line when they are wrong. */
export function parseGeneratorArgs(argv: string[], usage: string, defaults: { files: number; total: string }): GeneratorOptions {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        files: { type: 'string', default: String(defaults.files) },
        total: { type: 'string', default: defaults.total },
        seed: { type: 'string', default: '1' },
      },
    });
    const files = Number(values.files);
    const seed = Number(values.seed);
    if (positionals.length !== 1) throw new Error('expected exactly one output folder');
    if (!Number.isInteger(files) || files < 1) throw new Error(`--files: expected a positive integer, got "${values.files}"`);
    if (!Number.isInteger(seed)) throw new Error(`--seed: expected an integer, got "${values.seed}"`);
    return { outDir: positionals[0]!, files, totalBytes: parseSize(values.total), seed };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nusage: ${usage}\n`);
    process.exit(2);
  }
}

/** Appends text to one file in blocks of a few MB: one syscall per block, not per line. */
export class BlockWriter {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingLength = 0;
  /** Bytes on disk so far. */
  written = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Bytes written plus characters waiting: the file's size, give or take the odd multi-byte character. */
  get size(): number {
    return this.written + this.pendingLength;
  }

  write(text: string): void {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= 4 << 20) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pendingLength === 0) return;
    const block = Buffer.from(this.pending.join(''), 'utf8');
    for (let done = 0; done < block.length;) done += writeSync(this.fd, block, done);
    this.written += block.length;
    this.pending = [];
    this.pendingLength = 0;
  }
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true });
}
