#!/usr/bin/env node
/**
 * The `redmap` command's entry. It forks `run`'s worker processes before anything else
 * loads (cli/prefork.ts says why), then loads and runs the command line.
 */
import { preforkCount, preforkWorkers } from './prefork.js';

preforkWorkers(preforkCount(process.argv.slice(2)));
await import('./command-line.js');
