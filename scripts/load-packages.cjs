// Loads dist/vendor/packages.cjs (BullMQ, ioredis, zod and pino, bundled by build.mjs) with
// V8's code cache. Compiling the 3.5 MB bundle is most of a redmap process's start-up; with
// the cache V8 skips it. The cache sits beside the bundle, one file per Node version and
// architecture (V8 refuses a cache from another version or flag set, and then compiles as
// usual). The build writes it; a process that finds none writes it as it exits, once the
// functions it ran are compiled too, and a copy it cannot write (read-only install) only
// costs the compile.
'use strict';
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');
const { Script, constants } = require('node:vm');

const bundle = join(__dirname, 'packages.cjs');
const cacheFile = join(__dirname, `packages.${process.version}.${process.arch}.cache`);
const withFlags = process.execArgv.length > 0 || Boolean(process.env.NODE_OPTIONS);

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // none yet: written below
}
// Read as latin1: the bundle is ASCII (esbuild escapes the rest; the build checks), and a
// one-byte string is copied, not decoded: about 1,000 fewer pages touched than 'utf8'.
const script = new Script(Module.wrap(readFileSync(bundle, 'latin1')), {
  filename: bundle,
  cachedData,
  // pino's transports import() their targets; they resolve as in any module of ours.
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
const loaded = { exports: {} };
script.runInThisContext()(loaded.exports, Module.createRequire(bundle), loaded, bundle, __dirname);
module.exports = loaded.exports;
// Run as a script (by the build), it loads every package, so the cache it writes covers them all.
if (require.main === module) for (const name of Object.keys(loaded.exports)) void loaded.exports[name];

if ((cachedData === undefined || script.cachedDataRejected) && !withFlags) {
  process.once('exit', () => {
    const partial = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile); // whole or not at all: processes starting meanwhile read either
    } catch {
      // read-only or full: the next process compiles, as without a cache
      rmSync(partial, { force: true });
    }
  });
}
