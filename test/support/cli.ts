/**
 * Runs the real `redmap` command (from source, through tsx) as a child process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { release, track } from './resources.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Leave stdin open for the test to write to (and end) itself. */
  stdinOpen?: boolean;
  cwd?: string;
  timeoutMs?: number;
  /** A command that runs redmap inside it, e.g. ['ip', 'netns', 'exec', NAMESPACE] for another host. */
  wrap?: string[];
}

/** The command line to start redmap from source. */
export function redmapCommand(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', TSX, MAIN, ...args] };
}

export function startCli(
  args: string[],
  options: CliOptions = {},
): ChildProcessWithoutNullStreams & { result: Promise<CliResult>; printed(): { stdout: string; stderr: string } } {
  const { command, args: fullArgs } = redmapCommand(args);
  const [program, ...programArgs] = [...(options.wrap ?? []), command, ...fullArgs];
  const child = spawn(program!, programArgs, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, REDMAP_LOG_FORMAT: 'json', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child, `redmap ${args.slice(0, 2).join(' ')} (pid ${child.pid})`);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (options.input !== undefined) child.stdin.end(options.input);
  else if (!options.stdinOpen) child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      release(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  /** What it has printed so far. */
  const printed = (): { stdout: string; stderr: string } => ({ stdout, stderr });
  return Object.assign(child, { result, printed });
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}
