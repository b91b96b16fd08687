// Baseline A: the log-errors job as a competent developer writes it in one Node process,
// without redmap: stream each file, split it into lines, one regex per line, a Map.
// Kept fixed, so the yardstick does not move. Prints `COUNT STATUS PATH` lines, sorted.
// Usage: node bench/baseline-node.mjs FILE...
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

// The grammar of examples/log-errors/README.md: request "METHOD TARGET HTTP/x", status, bytes, referer, agent.
const LINE = /^[^"]*\] "[A-Z]+ ([^ "]+) HTTP\/[^ "]+" ([45]\d\d) \d+ "[^"]*" "[^"]*"$/;
const counts = new Map();

for (const file of process.argv.slice(2)) {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const match = LINE.exec(line);
    if (!match) continue;
    const target = match[1];
    const query = target.indexOf('?');
    const key = `${match[2]} ${query === -1 ? target : target.slice(0, query)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
}

const keys = [...counts.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
process.stdout.write(keys.map((key) => `${counts.get(key)} ${key}\n`).join(''));
