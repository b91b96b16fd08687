/**
 * The Chromium the browser suite drives: CHROME_PATH when set, else `chromium` as found on
 * PATH (where scripts/provision.sh checks for it), not a fixed path.
 */
import { spawnSync } from 'node:child_process';

export function chromiumPath(): string {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) return fromEnv;
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  throw new Error(
    'chromium is not on PATH: install it (npm run provision, or sudo apt-get install --no-install-recommends chromium), ' +
      'or set CHROME_PATH to a Chromium or Chrome binary',
  );
}
