/**
 * The `redmap` command: picks the command, parses its flags, runs it, and turns the
 * outcome into the exit code the command-line contract promises.
 */
import { readFileSync } from 'node:fs';
import { RedmapError } from '../shared/errors.js';
import { isRedisFull } from '../shared/redis/redis-connection.js';
import { isAccessRefused, toRedisError } from '../shared/redis/redis-errors.js';
import { parseCommandArgs, renderHelp, type CommandSpec, type ParsedArgs } from './args.js';
import { createContext, type CommandContext } from './context.js';
import { debugRequested } from '../shared/config.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { noteReaderLeft, readerLeft } from './output.js';

type Handler = (ctx: CommandContext, args: ParsedArgs) => Promise<number>;

/**
 * Each command's module is loaded only when it runs: together they pull in everything
 * (the dashboard's server, metrics, BullMQ), which made even `--version` take 0.3 s.
 */
const COMMANDS: Record<string, { title: string; load(): Promise<{ spec: CommandSpec; handler: Handler }> }> = {
  run: {
    title: 'run a job with local worker processes and print its results',
    load: () => import('./commands/run.js').then((module) => ({ spec: module.runSpec, handler: module.run })),
  },
  submit: {
    title: 'enqueue a run for workers elsewhere (--wait to follow it)',
    load: () => import('./commands/submit.js').then((module) => ({ spec: module.submitSpec, handler: module.submit })),
  },
  worker: {
    title: "serve a job's tasks until stopped, on any number of machines",
    load: () => import('./commands/worker.js').then((module) => ({ spec: module.workerSpec, handler: module.worker })),
  },
  status: {
    title: 'show a run (--watch to follow it)',
    load: () => import('./commands/status.js').then((module) => ({ spec: module.statusSpec, handler: module.status })),
  },
  runs: {
    title: 'list runs, newest first',
    load: () => import('./commands/runs.js').then((module) => ({ spec: module.runsSpec, handler: module.runs })),
  },
  results: {
    title: 'print the results of a finished run',
    load: () => import('./commands/results.js').then((module) => ({ spec: module.resultsSpec, handler: module.results })),
  },
  failed: {
    title: 'list the input items that failed for good, with their errors',
    load: () => import('./commands/failed.js').then((module) => ({ spec: module.failedSpec, handler: module.failed })),
  },
  retry: {
    title: 'run again what failed, under a new generation',
    load: () => import('./commands/retry.js').then((module) => ({ spec: module.retrySpec, handler: module.retry })),
  },
  cancel: {
    title: 'cancel a run',
    load: () => import('./commands/cancel.js').then((module) => ({ spec: module.cancelSpec, handler: module.cancel })),
  },
  clean: {
    title: 'remove runs and their queued tasks',
    load: () => import('./commands/clean.js').then((module) => ({ spec: module.cleanSpec, handler: module.clean })),
  },
  dashboard: {
    title: 'a web page of runs: progress, failures, cancel, retry and limits',
    load: () => import('./commands/dashboard.js').then((module) => ({ spec: module.dashboardSpec, handler: module.dashboard })),
  },
  throttle: {
    title: 'change the limits of a run, or of every run of a job, while they go on',
    load: () => import('./commands/throttle.js').then((module) => ({ spec: module.throttleSpec, handler: module.throttle })),
  },
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
    ...Object.entries(COMMANDS).map(([name, { title }]) => `  ${name.padEnd(width)}${title}`),
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
  const { spec, handler } = await command.load();
  const args = parseCommandArgs(spec, rest);
  if (args.values.help) {
    process.stdout.write(renderHelp(spec));
    return EXIT.done;
  }
  return handler(createContext(args), args);
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
  if (!(error instanceof RedmapError) && debugRequested()) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
}

// A reader of stdout that goes away (`| head`) had what it wanted: the commands stop writing
// and exit as they would have. Any other stdout error is fatal.
process.stdout.on('error', (error) => {
  if (noteReaderLeft(process.stdout, error)) return;
  process.stderr.write(`redmap: cannot write to stdout: ${error.message}\n`);
  process.exit(EXIT.failed);
});

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  report(error);
  code = exitCodeOf(error);
}
// Exit once stdout has flushed, so a piped result is never cut short.
if (readerLeft()) process.exit(code);
else process.stdout.write('', () => process.exit(code));
