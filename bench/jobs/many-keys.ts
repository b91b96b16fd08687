// Each input item emits 1000 keys nobody else emits: N items give N*1000 distinct keys, for
// measuring a big reduce.
import { defineJob, z } from 'redmap';

export default defineJob({
  name: 'bench-many-keys',
  input: z.coerce.number().int(),
  *map(item) {
    for (let j = 0; j < 1000; j++) yield [`k${item * 1000 + j}`, 1] as const;
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 8,
});
