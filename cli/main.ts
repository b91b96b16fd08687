#!/usr/bin/env node
/**
 * The `redmap` command: picks the command, parses its flags, runs it, and turns the
 * outcome into the exit code the command-line contract promises.
 */
import { readFileSync } from 'node:fs';
import { RedmapError } from '../shared/errors.js';
import { isRedisFull } from '../shared/redis-connection.js';
import { isAccessRefused, toRedisError } from '../shared/redis-errors.js';
import { parseCommandArgs, renderHelp, type CommandSpec, type ParsedArgs } from './args.js';
import { createContext, type CommandContext } from './context.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { cancel, cancelSpec } from './commands/cancel.js';
import { clean, cleanSpec } from './commands/clean.js';
import { dashboard, dashboardSpec } from './commands/dashboard.js';
import { failed, failedSpec } from './commands/failed.js';
import { results, resultsSpec } from './commands/results.js';
import { retry, retrySpec } from './commands/retry.js';
import { run, runSpec } from './commands/run.js';
import { runs, runsSpec } from './commands/runs.js';
import { status, statusSpec } from './commands/status.js';
import { submit, submitSpec } from './commands/submit.js';
import { throttle, throttleSpec } from './commands/throttle.js';
import { worker, workerSpec } from './commands/worker.js';

type Handler = (ctx: CommandContext, args: ParsedArgs) => Promise<number>;

const COMMANDS: Record<string, { spec: CommandSpec; handler: Handler }> = {
  run: { spec: runSpec, handler: run },
  submit: { spec: submitSpec, handler: submit },
  worker: { spec: workerSpec, handler: worker },
  status: { spec: statusSpec, handler: status },
  runs: { spec: runsSpec, handler: runs },
  results: { spec: resultsSpec, handler: results },
  failed: { spec: failedSpec, handler: failed },
  retry: { spec: retrySpec, handler: retry },
  cancel: { spec: cancelSpec, handler: cancel },
  clean: { spec: cleanSpec, handler: clean },
  dashboard: { spec: dashboardSpec, handler: dashboard },
  throttle: { spec: throttleSpec, handler: throttle },
};

function version(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'redmap') return pkg.version ?? 'unknown';
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  return [
    'Usage: redmap COMMAND [options]',
    '',
    'Distributed, queue-backed map-reduce for TypeScript on Redis and BullMQ.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, { spec }]) => `  ${name.padEnd(width)}${spec.title}`),
    '',
    'Run "redmap COMMAND --help" for a command\'s options, examples and environment variables.',
    'Exit codes: 0 done, 1 failed, 2 usage or invalid options, 3 done with failures, 4 cancelled,',
    '            5 Redis unreachable, out of memory or misconfigured, 6 lost, 130 interrupted.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(generalHelp());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(generalHelp());
    return EXIT.done;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return EXIT.done;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`redmap: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')} (see: redmap --help)\n`);
    return EXIT.usage;
  }
  const args = parseCommandArgs(command.spec, rest);
  if (args.values.help) {
    process.stdout.write(renderHelp(command.spec));
    return EXIT.done;
  }
  return command.handler(createContext(args), args);
}

function exitCodeOf(error: unknown): number {
  const carried = (error as { exitCode?: unknown })?.exitCode;
  return typeof carried === 'number' ? carried : exitCodeForError(error);
}

function report(error: unknown): void {
  const message = isRedisFull(error)
    ? 'Redis is out of memory (maxmemory reached, policy noeviction); nothing was half-committed. ' +
      'Raise maxmemory or clean old runs (redmap clean --older-than 1d), then run the same command again'
    : isAccessRefused(error)
      ? toRedisError(error).message // a bare NOPERM says nothing of what to change
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`redmap: ${message}\n`);
  if (!(error instanceof RedmapError) && process.env.REDMAP_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  report(error);
  code = exitCodeOf(error);
}
// Exit once stdout has flushed, so a piped result is never cut short.
process.stdout.write('', () => process.exit(code));
