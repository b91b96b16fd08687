// Builds the package into dist/: declarations from tsc; JavaScript from esbuild, one file per
// source file, so `import.meta.url` still finds the Lua scripts and hooks copied beside them.
// The dependencies every process loads are pre-bundled into dist/vendor/: as ~600 small
// CommonJS and ESM files, BullMQ, ioredis, zod and pino took ~140 ms of each process's
// start-up (the CLI's and every worker's); bundled, about 50 ms.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOTS = ['shared', 'producer', 'worker', 'reducer', 'runtime', 'cli'];
const ASSET = /\.(lua|mjs|html|css|svg)$|\.d\.mts$/;
const SOURCE = /(?<!\.d|\.test)\.ts$/;
/** Packages bundled into dist/vendor/NAME.js; everything else is imported from node_modules at run time. */
const VENDORED = ['bullmq', 'ioredis', 'zod', 'pino'];
const root = process.cwd();
const dist = join(root, 'dist');

function filesUnder(dir, pattern) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path, pattern);
    return pattern.test(name) ? [path] : [];
  });
}

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--emitDeclarationOnly'], {
  stdio: 'inherit',
});

// The vendored packages go into one CommonJS bundle that Node compiles through vm.Script, so
// V8's code cache can spare every later process the compile (scripts/load-packages.cjs):
// about 90 ms of each start-up here, 40 ms with the cache. Each package is a lazy getter, so a
// process pays only for the packages it imports, and one copy of ioredis serves them all.
// dist/vendor/NAME.js re-exports every name the package has (read here, so new imports need
// no list kept by hand).
const require = createRequire(import.meta.url);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
await build({
  stdin: {
    contents: `module.exports = {\n${VENDORED.map((name) => `  get ${JSON.stringify(name)}() { return require(${JSON.stringify(name)}); },`).join('\n')}\n};\n`,
    resolveDir: root,
    sourcefile: 'vendored-packages.cjs',
  },
  outfile: join(dist, 'vendor', 'packages.cjs'),
  bundle: true,
  // Whitespace and syntax only (names kept, for stack traces): a third less source to read
  // and hash, about 10 ms of every start-up.
  minifyWhitespace: true,
  minifySyntax: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Optional native speed-ups, loaded from node_modules when installed.
  external: ['msgpackr-extract', 'pg', 'pg-native'],
  logLevel: 'warning',
});
// load-packages.cjs reads the bundle as latin1, which equals UTF-8 only for ASCII.
if (readFileSync(join(dist, 'vendor', 'packages.cjs')).some((byte) => byte > 0x7f)) {
  throw new Error('dist/vendor/packages.cjs is not ASCII: set esbuild charset to ascii or read it as utf8 in load-packages.cjs');
}
cpSync(join(root, 'scripts', 'load-packages.cjs'), join(dist, 'vendor', 'load-packages.cjs'));
for (const name of VENDORED) {
  const names = Object.keys(require(name)).filter((key) => IDENTIFIER.test(key) && key !== 'default');
  // Through locals, as a package may export names such as `null` that cannot be bindings.
  writeFileSync(
    join(dist, 'vendor', `${name}.js`),
    [
      "import packages from './load-packages.cjs';",
      `const all = packages[${JSON.stringify(name)}];`,
      ...names.map((key, i) => `const _${i} = all[${JSON.stringify(key)}];`),
      `export { ${names.map((key, i) => `_${i} as ${key}`).join(', ')} };`,
      'export default all.default ?? all;',
      '',
    ].join('\n'),
  );
}

// Our own modules, each compiled alone: relative imports stay as they are, vendored packages
// point into dist/vendor/.
const sources = ['index.ts', ...ROOTS.flatMap((dir) => filesUnder(dir, SOURCE))];
await build({
  entryPoints: sources,
  outbase: root,
  outdir: dist,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // No source maps: the JavaScript is one readable file per source file, and once a job is
  // loaded (which turns Node's source maps on for the job's own stack traces) every module of
  // ours imported after it would have its map read and parsed: about 20 ms of a start-up.
  sourcemap: false,
  logLevel: 'warning',
  // Test-only fault injection (shared/failpoints.ts) can never act in an installed copy.
  define: { 'process.env.REDMAP_FAILPOINTS': '""' },
  plugins: [
    {
      name: 'keep-imports',
      setup(builder) {
        builder.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === 'entry-point') return undefined;
          if (!VENDORED.includes(args.path)) return { path: args.path, external: true };
          const outputDir = dirname(join(dist, relative(root, args.importer)));
          const target = relative(outputDir, join(dist, 'vendor', `${args.path}.js`));
          return { path: target.startsWith('.') ? target : `./${target}`, external: true };
        });
      },
    },
  ],
});

for (const dir of ROOTS) {
  for (const path of filesUnder(dir, ASSET)) cpSync(path, join(dist, path));
}
// The code cache for this Node, written as the loader exits after loading every package.
execFileSync(process.execPath, [join(dist, 'vendor', 'load-packages.cjs')]);
// `npx redmap` and the package's bin run this file directly.
chmodSync(resolve(dist, 'cli/main.js'), 0o755);
