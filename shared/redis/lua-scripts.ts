/**
 * Loads redmap's Lua scripts. Each script lives in a `.lua` file next to the code that
 * runs it; a line `--@include NAME` pulls in `shared/redis/lua/NAME.lua`, so a check that
 * several scripts share (the end of the map phase) is written once.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-connection.js';

export interface LuaScript {
  name: string;
  source: string;
  sha: string;
}

const INCLUDE_DIR = new URL('./lua/', import.meta.url);

export function loadLuaScript(url: URL): LuaScript {
  const included = new Set<string>();
  const expand = (text: string): string =>
    text.replace(/^--@include ([a-z0-9-]+)\s*$/gm, (_, name: string) => {
      if (included.has(name)) return '';
      included.add(name);
      return expand(readFileSync(new URL(`${name}.lua`, INCLUDE_DIR), 'utf8'));
    });
  const source = expand(readFileSync(url, 'utf8'));
  const name = url.pathname
    .split('/')
    .pop()!
    .replace(/\.lua$/, '');
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

type ScriptArg = string | number | Buffer;

/** Runs a script by its SHA, sending the source only when Redis does not know it yet. */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}

const ID_BYTES = 12;
/** Random bytes drawn 256 ids at a time: one call to the system's generator costs as much as a few hundred bytes. */
const idPool = Buffer.alloc(ID_BYTES * 256);
let idPoolUsed = idPool.length;

/**
 * A fresh id for one call of a script that remembers its reply (shared/redis/lua/once.lua), so
 * the call answers the same when ioredis sends it again, or for one attempt of a task. 96
 * random bits: ids never repeat.
 */
export function newRequestId(): string {
  if (idPoolUsed === idPool.length) {
    randomFillSync(idPool);
    idPoolUsed = 0;
  }
  idPoolUsed += ID_BYTES;
  return idPool.toString('base64url', idPoolUsed - ID_BYTES, idPoolUsed);
}

/** Script replies are arrays of strings (or numbers); this reads them as strings. */
export function replyStrings(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [String(reply)];
  return reply.map((part) => (part === null || part === undefined ? '' : String(part)));
}
