// Builds the package: compiles TypeScript to dist/ and copies the assets the code loads
// at run time (Lua scripts, the module hook) next to the compiled files.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOTS = ['shared', 'producer', 'worker', 'reducer', 'cli'];
const ASSET = /\.(lua|mjs|html|css|svg)$/;

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyAssets(path);
    else if (ASSET.test(name)) cpSync(path, join('dist', path));
  }
}
ROOTS.forEach(copyAssets);
// tsc writes files without the execute bit; `npx redmap` and the package's bin run this file directly.
chmodSync('dist/cli/main.js', 0o755);
