import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliInputSource } from '../../cli/cli-inputs.js';
import { expandGlobs } from '../../cli/input-globs.js';
import { UsageError } from '../../shared/errors.js';
import { openSource } from '../../producer/input-chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'redmap-globs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Created out of order, in nested folders, with a dot file and a folder that ends in .log.
for (const name of ['logs/b.log', 'logs/a.log', 'logs/z/2.log', 'logs/z/10.log', 'logs/.hidden.log', 'logs/B.log', 'logs/é.log']) {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  writeFileSync(join(dir, name), `${name}\n`);
}
mkdirSync(join(dir, 'logs', 'folder.log'));
writeFileSync(join(dir, 'literal[1].txt'), 'x\n');

async function readItems(source: ReturnType<typeof cliInputSource>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of openSource(source)) items.push(item);
  return items;
}

describe('glob patterns in inputs', () => {
  it('expand to files only, without dot files, sorted in byte order, in the absolute form they were given in', () => {
    expect(expandGlobs([join(dir, 'logs/**/*.log')], 'argument')).toEqual(
      ['logs/B.log', 'logs/a.log', 'logs/b.log', 'logs/z/10.log', 'logs/z/2.log', 'logs/é.log'].map((name) => join(dir, name)),
    );
  });

  it('keep a relative pattern relative, and other inputs in place around it', () => {
    const pattern = relative(process.cwd(), join(dir, 'logs/z/*.log'));
    expect(expandGlobs(['first', pattern, 'last'], 'argument')).toEqual([
      'first',
      relative(process.cwd(), join(dir, 'logs/z/10.log')),
      relative(process.cwd(), join(dir, 'logs/z/2.log')),
      'last',
    ]);
  });

  it('refuse a pattern that matches nothing, naming it and where it was given', () => {
    const pattern = join(dir, 'nothing/*.log');
    expect(() => expandGlobs(['x', pattern], '--input-file')).toThrow(UsageError);
    expect(() => expandGlobs([pattern], '--input-file')).toThrow(`--input-file: the pattern "${pattern}" matches no file`);
  });

  it('leave a name that exists as written alone, brackets and all', () => {
    expect(expandGlobs([join(dir, 'literal[1].txt')], 'argument')).toEqual([join(dir, 'literal[1].txt')]);
  });

  it('are expanded in --input-file names too, each file read in turn', async () => {
    const source = cliInputSource({ arguments: [], files: [join(dir, 'logs/z/*.log')], format: 'lines' });
    expect(await readItems(source)).toEqual(['logs/z/10.log', 'logs/z/2.log']);
  });

  it('are not expanded in jsonl arguments (JSON has brackets), nor with --no-glob', async () => {
    expect(await readItems(cliInputSource({ arguments: ['[1,2]'], files: [], format: 'jsonl' }))).toEqual([[1, 2]]);
    expect(await readItems(cliInputSource({ arguments: ['what?*'], files: [], format: 'lines', glob: false }))).toEqual(['what?*']);
  });
});
