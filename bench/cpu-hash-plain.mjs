// The ceiling for engine scaling: the cpu-hash job's own hash over the same seeds in plain Node
// processes, no Redis and no redmap, the seeds split evenly between PROCESSES children started
// at once. What two of them gain over one is what this machine's two vCPUs give to this code.
// Prints the number of seeds hashed and the sum of the map's values, to check against redmap's.
//
//   node bench/cpu-hash-plain.mjs SEEDS PROCESSES
import { spawn } from 'node:child_process';

const [seeds, processes] = process.argv.slice(2).map(Number);
if (process.env.CPU_HASH_SHARE) {
  const [first, end] = process.env.CPU_HASH_SHARE.split(',').map(Number);
  const { fnv } = await import('./jobs/cpu-hash.ts');
  let sum = 0;
  for (let seed = first; seed < end; seed++) sum += fnv(seed) % 1000;
  process.stdout.write(`${end - first} ${sum}\n`);
} else {
  const shares = Array.from({ length: processes }, (_, i) => [
    Math.floor((seeds * i) / processes),
    Math.floor((seeds * (i + 1)) / processes),
  ]);
  const replies = await Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname], {
            env: { ...process.env, CPU_HASH_SHARE: share.join(',') },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (chunk) => (out += chunk));
          child.on('exit', (code) =>
            code === 0 ? resolve(out.trim().split(' ').map(Number)) : reject(new Error(`a child exited ${code}`)),
          );
        }),
    ),
  );
  const [count, sum] = replies.reduce(([c, s], [count, sum]) => [c + count, s + sum], [0, 0]);
  process.stdout.write(`${count} ${sum}\n`);
}
