// Baseline A: the log-errors job as a competent developer writes it in one Node process,
// without redmap (see naive-log.mjs). Prints `COUNT STATUS PATH` lines, sorted.
// Usage: node bench/baseline-node.mjs FILE...
import { countErrors, formatCounts } from './naive-log.mjs';

const counts = new Map();
for (const file of process.argv.slice(2)) await countErrors(file, counts);
process.stdout.write(formatCounts(counts));
