// A CPU-bound map that allocates almost nothing: FNV-1a over a fixed 64 KiB buffer, many
// times per input. What engine scaling is measured with (2 workers over 1).
import { defineJob, z } from 'redmap';

const buffer = new Uint8Array(64 * 1024).map((_, i) => (i * 2654435761) >>> 24);
const ROUNDS = Number(process.env.BENCH_HASH_ROUNDS ?? 60);

/**
 * The hash stays a signed 32-bit integer inside the loops (what Math.imul returns) and becomes
 * unsigned only at the end: with `>>> 0` on every step, values above 2^31 are not small
 * integers, and V8 compiled the loop for either kind depending on what it had seen, so some
 * worker processes mapped 6x slower than others (seen with Node 20.20).
 */
export function fnv(seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < buffer.length; i++) hash = Math.imul(hash ^ buffer[i]!, 0x01000193);
  }
  return hash >>> 0;
}

export default defineJob({
  name: 'bench-cpu-hash',
  input: z.coerce.number().int(),
  map: (seed) => [[`h${seed % 16}`, fnv(seed) % 1000]],
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});
