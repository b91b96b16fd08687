/**
 * scripts/provision.sh, the first step of `npm test`, on a PATH made of links to every
 * program of this machine except the ones it provides (and sudo and apt-get): as a user who
 * may not install, it prints the exact install line and stops within seconds; as root (or
 * through passwordless sudo) it calls apt-get with exactly the missing packages, once
 * each. apt-get is always a stub that records its arguments: the real one never runs here.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';

/** The Debian package each program comes from, written out here rather than read from the script. */
const PROGRAMS: Record<string, string> = {
  'redis-server': 'redis-server',
  'docker-compose': 'docker-compose',
  ip: 'iproute2',
  tc: 'iproute2',
  openssl: 'openssl',
  chromium: 'chromium',
  pgrep: 'procps',
};
const HIDDEN = new Set([...Object.keys(PROGRAMS), 'ss', 'chromium-browser', 'sudo', 'apt-get']);
/** "Within seconds": the script only looks programs up, so even a loaded machine is far below this. */
const QUICK_MS = 5000;

const scratchDirs: string[] = [];
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A folder anyone may read and enter (the script may run as nobody). */
function openDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'redmap-provision-'));
  chmodSync(dir, 0o777);
  scratchDirs.push(dir);
  return dir;
}

/** Links to every program on this PATH but the hidden ones: the machine as if they were never installed. */
function pathWithout(hidden: Set<string>): string {
  const bin = openDir();
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const target = join(dir, name);
      if (hidden.has(name) || existsSync(join(bin, name))) continue;
      try {
        if (statSync(target).isFile() && statSync(target).mode & 0o111) symlinkSync(target, join(bin, name));
      } catch {
        // a dangling link
      }
    }
  }
  return bin;
}

function writeScript(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

interface Stubs {
  dir: string;
  /** Each call of the stub apt-get, its arguments joined by spaces. */
  aptCalls(): string[];
  sudoCalls(): string[];
}

/**
 * A stub apt-get that records its arguments; `install` puts a program of each package it is
 * given into the stub folder, as the real one would on PATH. Optionally a stub sudo that
 * records and runs its arguments, and programs that are already there.
 */
function stubs(options: { sudo?: boolean; present?: string[] } = {}): Stubs {
  const dir = openDir();
  const record = (name: string) => `echo "$*" >> ${join(dir, name)}`;
  const installs = [...new Set(Object.values(PROGRAMS))]
    .map((pkg) => {
      const programs = Object.keys(PROGRAMS).filter((program) => PROGRAMS[program] === pkg);
      return `    ${pkg}) ${programs.map((program) => `printf '#!/bin/sh\\n' > ${dir}/${program}; chmod 755 ${dir}/${program};`).join(' ')} ;;`;
    })
    .join('\n');
  writeScript(
    join(dir, 'apt-get'),
    `${record('apt-calls')}\n[ "$1" = install ] || exit 0\nfor pkg in "$@"; do\n  case $pkg in\n${installs}\n  esac\ndone`,
  );
  if (options.sudo) writeScript(join(dir, 'sudo'), `${record('sudo-calls')}\nexec "$@"`);
  for (const program of options.present ?? []) writeScript(join(dir, program), 'exit 0');
  const lines = (name: string) => () => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').trim().split('\n') : []);
  return { dir, aptCalls: lines('apt-calls'), sudoCalls: lines('sudo-calls') };
}

function nobody(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs a copy of the script (a checkout under a private home may be closed to nobody) with only PATH and HOME set. */
function provision(path: string[], options: { asNobody?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const home = openDir();
  const script = join(home, 'provision.sh');
  copyFileSync(join(REPO_ROOT, 'scripts', 'provision.sh'), script);
  chmodSync(script, 0o755);
  const started = Date.now();
  const result = spawnSync('/bin/bash', [script], {
    encoding: 'utf8',
    env: { PATH: path.join(delimiter), HOME: home, ...options.env },
    ...(options.asNobody && process.getuid?.() === 0 ? nobody() : {}),
    timeout: 60_000,
  });
  return { ...result, ms: Date.now() - started };
}

const isRoot = process.getuid?.() === 0;

describe('scripts/provision.sh on a machine without the programs the tests need', () => {
  it('as a user who may not install (not root, no sudo): prints the exact install line and exits 1 within seconds', () => {
    const stub = stubs();
    const result = provision([stub.dir, pathWithout(HIDDEN)], { asNobody: true });
    expect(result.status, result.stderr).toBe(1);
    expect(result.ms).toBeLessThan(QUICK_MS);
    expect(result.stderr.split('\n').map((line) => line.trim())).toContain(
      'sudo apt-get update && sudo apt-get install --no-install-recommends redis-server docker-compose iproute2 openssl chromium procps',
    );
    expect(result.stderr).toContain('redis-server docker-compose ip tc openssl chromium pgrep, not found');
    expect(stub.aptCalls()).toEqual([]);
  });

  it(`${isRoot ? 'as root' : 'through passwordless sudo'}: apt-get update once, then installs exactly the missing packages, each once`, () => {
    const stub = stubs({ sudo: !isRoot, present: ['redis-server', 'openssl', 'pgrep'] });
    const result = provision([stub.dir, pathWithout(HIDDEN)]);
    expect(result.status, result.stderr).toBe(0);
    expect(stub.aptCalls()).toEqual(['update -qq', 'install -y -qq --no-install-recommends docker-compose iproute2 chromium']);
    // As root sudo is never asked; otherwise every apt-get call went through it.
    expect(stub.sudoCalls().filter((call) => call.includes('apt-get'))).toHaveLength(isRoot ? 0 : 2);
    // The programs the stub "installed" are found afterwards: nothing is reported missing.
    expect(result.stderr).not.toMatch(/still not found/);
  });

  it('with everything there (chromium through CHROME_PATH): no apt-get at all, exit 0', () => {
    const stub = stubs({ present: Object.keys(PROGRAMS).filter((program) => program !== 'chromium') });
    const chrome = join(stub.dir, 'my-chrome');
    writeScript(chrome, 'exit 0');
    const result = provision([stub.dir, pathWithout(HIDDEN)], { env: { CHROME_PATH: chrome } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.ms).toBeLessThan(QUICK_MS);
    expect(stub.aptCalls()).toEqual([]);
    expect(result.stderr).toBe('');
  });
});
