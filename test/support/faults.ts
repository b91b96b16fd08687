/**
 * The fault tests' kit: a Redis of their own, a supervisor of real worker processes whose
 * children they can kill or freeze, a ledger of map calls written by the fixture jobs, and
 * a schedule that records every fault applied (printed with any failure, and kept under
 * test-output/faults/).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFailed } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT, startCli, type CliResult } from './cli.js';
import { waitFor } from './wait-for.js';

/** A fault test's record of what it did and when, relative to its start. */
export class FaultSchedule {
  private readonly started = Date.now();
  private readonly lines: string[] = [];
  readonly file: string;

  constructor(name: string) {
    const dir = join(REPO_ROOT, 'test-output', 'faults');
    mkdirSync(dir, { recursive: true });
    this.file = join(
      dir,
      `${name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .slice(0, 80)}.log`,
    );
    writeFileSync(this.file, '');
    // A failure that no assertion tied to this schedule reports (a waitFor that timed out, an
    // assertion on something else) still ends up in its file, after what happened.
    onTestFailed(({ task }) => {
      for (const error of task.result?.errors ?? []) this.note(`test failed: ${error.message}`);
    });
  }

  note(what: string): void {
    const line = `+${((Date.now() - this.started) / 1000).toFixed(2)}s ${what}`;
    this.lines.push(line);
    appendFileSync(this.file, `${line}\n`);
  }

  toString(): string {
    return `fault schedule (${this.file}):\n${this.lines.join('\n')}`;
  }
}

/** A folder for a test's files, and the ledger the fixture jobs append their map calls to. */
export function scratch(): { dir: string; ledger: string } {
  const dir = mkdtempSync(join(tmpdir(), 'redmap-fault-'));
  return { dir, ledger: join(dir, 'calls.log') };
}

export interface LedgerEntry {
  /** The run the call belongs to (fixtures that serve several runs of a test log it). */
  run?: string;
  /** The call's task id as ctx.taskId gives it: the item's own id (`c3.1`) within a chunk of several. */
  task: string;
  item: string;
  pid: number;
  attempt: number;
  /**
   * `start` (or absent) for a call; `end` when a fault-words call returned; `aborted` when a
   * poison fixture's call saw ctx.signal abort.
   */
  event?: string;
  at: number;
}

export function readLedger(ledger: string): LedgerEntry[] {
  let text = '';
  try {
    text = readFileSync(ledger, 'utf8');
  } catch {
    return [];
  }
  // A line still being appended by another process is not read yet.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LedgerEntry);
}

/** The calls as they started (leaving out the `end` and `aborted` records). */
export function callStarts(calls: readonly LedgerEntry[]): LedgerEntry[] {
  return calls.filter((call) => (call.event ?? 'start') === 'start');
}

/**
 * The items whose map call started more than once, with how often: the redelivery path ran
 * for them (a task taken again after its worker died, froze or lost its lock).
 */
export function remappedItems(calls: readonly LedgerEntry[]): Map<string, number> {
  const starts = new Map<string, number>();
  for (const call of callStarts(calls)) starts.set(call.item, (starts.get(call.item) ?? 0) + 1);
  return new Map([...starts].filter(([, count]) => count > 1));
}

/**
 * The map calls a process started and never ended (fixtures that log `end`): what it was
 * doing when it was killed. Each of these items must be mapped again for its task to commit.
 */
export function callsInFlight(calls: readonly LedgerEntry[], pid: number): LedgerEntry[] {
  const open = new Map<string, LedgerEntry[]>();
  for (const call of calls.filter((entry) => entry.pid === pid)) {
    const key = JSON.stringify([call.run, call.task, call.item, call.attempt]);
    if ((call.event ?? 'start') === 'start') open.set(key, [...(open.get(key) ?? []), call]);
    else if (call.event === 'end') open.set(key, (open.get(key) ?? []).slice(1));
  }
  return [...open.values()].flat();
}

/**
 * A worker to fault, chosen by a seeded fraction in [0, 1): among the processes with a map
 * call in flight if there are any (a fault there must send a task back), else among all.
 * Ranked by pid, so the same fraction picks the same rank in a replay.
 */
export function pickVictim(children: readonly number[], calls: readonly LedgerEntry[], fraction: number): number | undefined {
  const busy = children.filter((pid) => callsInFlight(calls, pid).length > 0);
  const among = (busy.length > 0 ? busy : [...children]).sort((a, b) => a - b);
  return among[Math.floor(fraction * among.length)];
}

/** The worker processes a `redmap worker` supervisor has forked, alive now. */
export function workerProcessesOf(supervisorPid: number): number[] {
  try {
    // Only the forked worker processes, not helpers such as esbuild's service process.
    return execFileSync('pgrep', ['-P', String(supervisorPid), '-f', 'worker-process'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // none
  }
}

/** `redmap worker` with N processes; its children can be listed, killed and frozen. */
export function startSupervisedWorkers(job: string, processes: number, env: NodeJS.ProcessEnv, flags: string[] = []) {
  const supervisor = startCli(['worker', job, '--processes', String(processes), ...flags], { env, timeoutMs: 600_000 });
  return Object.assign(supervisor, {
    /** The pids of the worker processes alive now. */
    children: (): number[] => workerProcessesOf(supervisor.pid!),
    /**
     * Waits until every worker process has served (the supervisor says so once) and `count`
     * of them run now; fails at once if the supervisor exited.
     */
    async ready(count: number): Promise<void> {
      await waitFor(`${count} worker processes serving`, async () => {
        if (supervisor.exitCode !== null)
          throw new Error(`redmap worker exited ${supervisor.exitCode}: ${(await supervisor.result).stderr}`);
        return (supervisor.printed().stderr.includes('worker process(es) serving') && this.children().length >= count) || undefined;
      });
    },
    async stop(): Promise<CliResult> {
      supervisor.kill('SIGTERM');
      return supervisor.result;
    },
  });
}

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // it died meanwhile
  }
}

/**
 * A whole number from the environment (a run count, a seed), or `fallback` when unset.
 * Anything else stops the suite at load, naming the variable: a typo must not quietly run
 * no runs, or replay another seed than the one asked for.
 */
export function wholeNumberFromEnv(name: string, options: { min: number; fallback: number }, env = process.env): number {
  const text = env[name];
  if (text === undefined) return options.fallback;
  const parsed = z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(options.min)
        .max(2 ** 32 - 1),
    )
    .safeParse(text.trim());
  if (!parsed.success)
    throw new Error(`${name} must be a whole number, ${options.min} or more; it is ${JSON.stringify(text)}. Unset it for the default.`);
  return parsed.data;
}

/** A seeded generator (xorshift32), so a failing random schedule can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

/** Asserts with the schedule in the message, so a failure says what was done to the run. */
export function expectWithSchedule<T>(actual: T, schedule: FaultSchedule) {
  return expect(actual, schedule.toString());
}
