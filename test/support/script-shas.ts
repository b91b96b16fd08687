/**
 * Names of the Lua scripts a Redis client sends, by the SHA1 that EVALSHA carries (and that
 * EVAL's source hashes to): redmap's own, found on disk so that a script added or renamed
 * is covered without a list to keep, and BullMQ's, from the package the workers load.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { loadLuaScript } from '../../shared/redis/lua-scripts.js';
import { REPO_ROOT } from './cli.js';

/** Where redmap's scripts live; shared/redis/lua/ holds the pieces they `--@include`, never run alone. */
const SCRIPT_FOLDERS = ['producer', 'worker', 'reducer', 'runtime', 'shared'];
const INCLUDE_FOLDER = join(REPO_ROOT, 'shared', 'redis', 'lua');

/** sha → name (the file name without `.lua`) of every script of redmap, as loadLuaScript expands it. */
export function redmapScripts(): Map<string, string> {
  const shas = new Map<string, string>();
  for (const folder of SCRIPT_FOLDERS) {
    for (const file of luaFiles(join(REPO_ROOT, folder))) {
      const script = loadLuaScript(pathToFileURL(file));
      shas.set(script.sha, script.name);
    }
  }
  if (shas.size === 0) throw new Error(`no .lua files under ${SCRIPT_FOLDERS.join(', ')} of ${REPO_ROOT}: is REPO_ROOT the repository?`);
  return shas;
}

function luaFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.lua'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.startsWith(`${INCLUDE_FOLDER}/`));
}

const bullmqScriptModule = z.record(z.string(), z.object({ name: z.string(), content: z.string() }));

/** sha → name (e.g. `moveToFinished`) of every script BullMQ defines on its connections. */
export function bullmqScripts(): Map<string, string> {
  // The CommonJS build: its ESM build imports without file extensions, which Node refuses.
  const loaded: unknown = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/index.js');
  const scripts = bullmqScriptModule.parse(loaded);
  // ioredis's defineCommand hashes the source as it is, as EVALSHA then carries it.
  return new Map(Object.values(scripts).map(({ name, content }) => [createHash('sha1').update(content).digest('hex'), name]));
}
