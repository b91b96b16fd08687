// Builds the package into dist/: declarations from tsc; JavaScript from esbuild, one file per
// source file, so `import.meta.url` still finds the Lua scripts and hooks copied beside them.
// The dependencies every process loads are pre-bundled into dist/vendor/: as ~600 small
// CommonJS and ESM files, BullMQ, ioredis, zod and pino took ~140 ms of each process's
// start-up (the CLI's and every worker's); bundled, about 50 ms.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, rmSync, statSync } from 'node:fs';
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

// One module per vendored package, re-exporting every name the package has (read here, so
// new imports need no list kept by hand); shared code lands in chunks.
const require = createRequire(import.meta.url);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
await build({
  entryPoints: VENDORED.map((name) => ({ in: `vendor:${name}`, out: name })),
  outdir: join(dist, 'vendor'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // Bundled CommonJS calls require() for Node's own modules and optional native add-ons.
  banner: { js: "import { createRequire as __vendorRequire } from 'node:module'; const require = __vendorRequire(import.meta.url);" },
  // Optional native speed-ups, loaded from node_modules when installed.
  external: ['msgpackr-extract', 'pg', 'pg-native'],
  logLevel: 'warning',
  plugins: [
    {
      name: 'vendor-entries',
      setup(builder) {
        builder.onResolve({ filter: /^vendor:/ }, (args) => ({ path: args.path.slice('vendor:'.length), namespace: 'vendor' }));
        builder.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => {
          const names = Object.keys(require(args.path)).filter((name) => IDENTIFIER.test(name) && name !== 'default');
          return {
            contents: `import * as all from '${args.path}';\nexport const { ${names.join(', ')} } = all;\n`,
            resolveDir: root,
            loader: 'js',
          };
        });
      },
    },
  ],
});

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
  sourcemap: true,
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
// `npx redmap` and the package's bin run this file directly.
chmodSync(resolve(dist, 'cli/main.js'), 0o755);
