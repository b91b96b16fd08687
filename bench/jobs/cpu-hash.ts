// A CPU-bound map that allocates almost nothing: FNV-1a over a fixed 64 KiB buffer, many
// times per input. What engine scaling is measured with (2 workers over 1).
import { defineJob, z } from 'redmap';

const buffer = new Uint8Array(64 * 1024).map((_, i) => (i * 2654435761) >>> 24);
const ROUNDS = Number(process.env.BENCH_HASH_ROUNDS ?? 60);

function fnv(seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < buffer.length; i++) hash = Math.imul(hash ^ buffer[i]!, 0x01000193) >>> 0;
  }
  return hash;
}

export default defineJob({
  name: 'bench-cpu-hash',
  input: z.coerce.number().int(),
  map: (seed) => [[`h${seed % 16}`, fnv(seed) % 1000]],
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});
