/**
 * What Redis shows of the limiter's steps, for the throttling tests to time their checks by
 * events rather than by fixed delays: the leases held and when they expire (Redis's clock),
 * and, from its record of the commands it ran, each ask and admission of a rate.
 */
import type { Redis } from 'ioredis';
import type { MonitoredCommand } from './redis-monitor.js';
import { waitFor } from './wait-for.js';

/** When the leases `pid` holds in `slots` expire, earliest first (ms, Redis's clock). */
export async function leaseExpiries(client: Redis, slots: string, pid: number): Promise<number[]> {
  const leases = await client.zrange(slots, '0', '-1', 'WITHSCORES');
  return leases.flatMap((value, i) => (i % 2 === 0 && value.startsWith(`${pid}:`) ? [Number(leases[i + 1])] : [])).sort((a, b) => a - b);
}

/** Waits until none of the leases held now in `slots` is left; returns when it saw that (this process's clock). */
export async function leasesGone(client: Redis, slots: string): Promise<number> {
  const held = new Set(await client.zrange(slots, '0', '-1'));
  await waitFor(`the ${held.size} leases held before to be given back`, async () =>
    (await client.zrange(slots, '0', '-1')).every((lease) => !held.has(lease)),
  );
  return Date.now();
}

/**
 * The rate limiter's steps on a run's next-allowed-start key, from what Redis ran: asks
 * (acquire-slot.lua run with it: its line, then its first command, TIME; an EVALSHA of a
 * script not loaded yet runs nothing), admissions (an ask that SET the key; `asked` when its
 * line came, `set` when its SET did), and the asks refused although `intervalMs` had passed
 * since the last admission.
 */
export function rateSteps(commands: readonly MonitoredCommand[], bucket: string, intervalMs: number) {
  let asks = 0;
  const admissions: Array<{ asked: number; set: number }> = [];
  const refusedWhenDue: number[] = [];
  let pending: number | undefined;
  const settle = (): void => {
    const last = admissions.at(-1)?.set ?? -Infinity;
    if (pending !== undefined && pending >= last + intervalMs + 1) refusedWhenDue.push(pending);
    pending = undefined;
  };
  for (const [i, { at, args, fromScript }] of commands.entries()) {
    const ran = commands[i + 1]?.fromScript === true && commands[i + 1]?.args[0] === 'TIME';
    // acquire-slot.lua's KEYS are limits, slots, bucket, starts: EVALSHA sha 4 KEYS...
    if (!fromScript && /^eval(sha)?$/i.test(args[0]!) && args[5] === bucket && ran) {
      settle();
      pending = at;
      asks++;
    } else if (fromScript && args[0]!.toUpperCase() === 'SET' && args[1] === bucket && pending !== undefined) {
      admissions.push({ asked: pending, set: at });
      pending = undefined;
    }
  }
  settle();
  return { asks, admissions, refusedWhenDue };
}
