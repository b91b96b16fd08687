import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { preforkCount } from '../../cli/prefork.js';

describe('preforkCount', () => {
  it('forks one worker process for a run, as many as --workers asks up to one per CPU', () => {
    expect(preforkCount(['run', 'job.ts', 'a.txt'])).toBe(1);
    expect(preforkCount(['run', 'job.ts', '--workers', '1'])).toBe(1);
    expect(preforkCount(['run', 'job.ts', '-w', '2'])).toBe(Math.min(2, availableParallelism()));
    expect(preforkCount(['run', 'job.ts', '--workers=2'])).toBe(Math.min(2, availableParallelism()));
    expect(preforkCount(['run', 'job.ts', '--workers', '10000'])).toBe(availableParallelism());
  });

  it('forks one for a --workers value the command will refuse or read otherwise', () => {
    expect(preforkCount(['run', 'job.ts', '--workers', '0'])).toBe(1);
    expect(preforkCount(['run', 'job.ts', '--workers', 'many'])).toBe(1);
    expect(preforkCount(['run', 'job.ts', '--workers'])).toBe(1);
  });

  it('forks none for other commands, --local, --help or no command', () => {
    expect(preforkCount(['submit', 'job.ts', 'a.txt', '--wait'])).toBe(0);
    expect(preforkCount(['worker', 'job.ts', '--processes', '2'])).toBe(0);
    expect(preforkCount(['run', 'job.ts', 'a.txt', '--local'])).toBe(0);
    expect(preforkCount(['run', '--help'])).toBe(0);
    expect(preforkCount(['run', '-h'])).toBe(0);
    expect(preforkCount([])).toBe(0);
  });
});
