/**
 * Delay between the hosts of a test network and Redis, each way: netem on both ends of
 * every link where the kernel has it; else the user-space delay relay (delay-relay.ts) run
 * inside the Redis host, listening on its addresses and forwarding to Redis over the host's
 * loopback. Either way a packet from a host crosses its own link, and is held the delay in
 * each direction; with the relay, clients reach Redis on the relay's port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { missingNetem, type TestNetwork } from './netns.js';
import { release, track } from './resources.js';

const RELAY = fileURLToPath(new URL('./delay-relay.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));

export interface LinkDelay {
  /** The port that reaches Redis through the delay, at the usual addresses: Redis's own with netem, the relay's without. */
  readonly port: number;
  /** How the delay is added, for a test's output: "netem", or the relay and why netem could not be used. */
  readonly mechanism: string;
  /** Removes the delay (stops the relay); safe to call more than once. */
  remove(): Promise<void>;
}

/** Adds `ms` of delay each way between every host and Redis (listening on `redisPort` in the Redis host). */
export async function delayLinks(network: TestNetwork, ms: number, redisPort: number): Promise<LinkDelay> {
  const missing = missingNetem(network);
  if (missing === undefined) {
    try {
      network.setDelay(ms);
    } catch (error) {
      network.setDelay(0); // the links it reached
      throw error;
    }
    return { port: redisPort, mechanism: 'netem', remove: async () => network.setDelay(0) };
  }
  const relay = spawn(
    'ip',
    ['netns', 'exec', network.redisNamespace, process.execPath, '--import', TSX, RELAY, '0.0.0.0:0', `127.0.0.1:${redisPort}`, String(ms)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(relay, `delay relay in the Redis host (pid ${relay.pid})`);
  const remove = () => stopRelay(relay);
  try {
    const port = await relayPort(relay);
    return { port, mechanism: `user-space relay in the Redis host, this kernel has no netem: ${missing}`, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** The port the relay says it listens on; rejects with its error output if it exits first or takes over 20 s. */
function relayPort(relay: ChildProcess): Promise<number> {
  let stdout = '';
  let stderr = '';
  relay.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the delay relay did not start within 20 s: ${stderr}`)), 20_000);
    relay.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const listening = /relaying on (\d+)/.exec(stdout);
      if (listening) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    });
    relay.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the delay relay exited (${signal ?? code}) before listening: ${stderr}`));
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
async function stopRelay(relay: ChildProcess): Promise<void> {
  if (relay.exitCode === null && relay.signalCode === null) {
    const exited = new Promise((resolve) => relay.once('exit', resolve));
    relay.kill('SIGTERM');
    const timer = setTimeout(() => relay.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  release(relay);
}
