// A map that does nothing but emit one pair: what a run costs beyond the user's own work.
import { defineJob, z } from 'redmap';

export default defineJob({
  name: 'bench-noop',
  input: z.string(),
  map: (item) => [[item.length % 2 === 0 ? 'even' : 'odd', 1]],
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});
