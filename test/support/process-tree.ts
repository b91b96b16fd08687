/**
 * What `ps` shows of a process and everything it started: the command lines a test checks
 * for secrets. Sampled while the processes run, since they are gone afterwards.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The pids of `root` and of every process below it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOrEmpty(`/proc/${entry}/stat`);
    // The command name (2nd field) may hold spaces and parentheses: the ppid follows the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(entry));
  }
  const tree: number[] = [];
  const walk = (pid: number): void => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return tree;
}

/** The command lines (arguments joined by spaces) of a process tree. */
export function commandLines(root: number): string[] {
  return processTree(root)
    .map((pid) => readOrEmpty(`/proc/${pid}/cmdline`).split('\0').join(' ').trim())
    .filter((line) => line !== '');
}

/** Collects the command lines of the trees under `roots()` every 50 ms until stopped. */
export function sampleCommandLines(roots: () => number[]): { stop(): Set<string> } {
  const seen = new Set<string>();
  const sample = (): void => {
    for (const root of roots()) for (const line of commandLines(root)) seen.add(line);
  };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return seen;
    },
  };
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process ended meanwhile
  }
}
