// Starts an isolate in a worker thread. Loader hooks given to the process (--import tsx when
// redmap runs from its TypeScript source) do not reach worker threads, so this plain
// JavaScript file registers tsx there first when the entry is TypeScript.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
