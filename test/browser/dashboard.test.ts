/**
 * The dashboard in a real browser (Chromium from PATH or CHROME_PATH, headless, driven by playwright-core)
 * against real worker processes and Redis: a run's progress advances on the list, its page
 * shows the failed item's input and error, Retry (confirmed) finishes it, the limits form
 * throttles another run and Cancel ends it, and a page from another origin cannot change anything. Screenshots of the
 * list and of the run page are kept under test-output/dashboard/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from '../support/chromium.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { startDashboard, type TestDashboard } from '../support/dashboard.js';
import { scratch, startSupervisedWorkers } from '../support/faults.js';
import { freePort } from '../support/redis-server.js';
import { openClient, redisUrl, testPrefix, wipePrefix } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const POISON = 'test/fixtures/jobs/poison.ts';
const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'dashboard');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

/** The number before the slash of a progress label such as "7/25 tasks (28%)". */
async function progressOf(page: Page, runId: string): Promise<number> {
  const label = await page.locator(`tr[data-run="${runId}"] [data-field=progress]`).textContent();
  return Number(/^(\d+)\//.exec(label ?? '')?.[1] ?? -1);
}

async function stateShown(page: Page): Promise<string | null> {
  return page.locator('.title [data-field=state]').textContent();
}

async function submit(env: NodeJS.ProcessEnv, items: string[], flags: string[] = []): Promise<string> {
  const submitted = await runCli(['submit', POISON, ...items, '--chunk-size', '1', ...flags], { env });
  expect(submitted.code, submitted.stderr).toBe(0);
  return submitted.stdout.trim();
}

describe('the dashboard in a browser', () => {
  it('follows a run live, shows its failed item, retries it to the end, throttles and cancels another, and refuses a cross-origin change', async () => {
    const prefix = testPrefix();
    const { dir } = scratch();
    const cure = join(dir, 'cured');
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_TEST_CURE: cure };
    const client = await openClient();
    const workers = startSupervisedWorkers(POISON, 1, env, ['--concurrency', '2']);
    let dashboard: TestDashboard | undefined;
    let elsewhere: Server | undefined;
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    try {
      await workers.ready(1);
      dashboard = await startDashboard(env);

      // A run of 30 items of 300 ms each, two at a time, one of which fails for good.
      const failing = await submit(
        env,
        [...Array.from({ length: 30 }, () => 'slow:300'), 'throw'],
        ['--attempts', '1', '--max-failed-tasks', '1'],
      );
      await page.goto(`${dashboard.base}/`);
      const seen = await waitFor(
        'the list to show the run progressing',
        async () => {
          const done = await progressOf(page, failing);
          return done > 0 && done;
        },
        20_000,
      );
      await waitFor(`the list to show progress past ${seen}`, async () => (await progressOf(page, failing)) > seen, 20_000);
      await page.screenshot({ path: join(SCREENSHOTS, 'runs.png') });

      await page.locator(`tr[data-run="${failing}"] a`).click();
      await page.waitForURL(`**/#/runs/${failing}`);
      await waitFor('the run page to show done_with_failures', async () => (await stateShown(page)) === 'done_with_failures', 60_000);
      const failure = page.locator('tr[data-task]');
      await waitFor('the failed task on the run page', async () => (await failure.count()) === 1, 10_000);
      expect(await failure.locator('[data-field=input]').textContent()).toBe('"throw"');
      expect(await failure.locator('[data-field=error]').textContent()).toBe('poison item: always throws');
      expect(await page.locator('[data-field=tasks]').textContent()).toMatch(/^30\/31 committed, 1 failed for good/);
      expect(await page.locator('.cell.reduced').count()).toBe(2);
      expect(await page.locator('button[data-action=retry]').isEnabled()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, 'run-page.png'), fullPage: true });

      writeFileSync(cure, '');
      await page.locator('button[data-action=retry]').click();
      expect(dialogs.pop()).toMatch(new RegExp(`^Retry run ${failing}\\?`));
      const notice = `run ${failing} is mapping again (generation 2)`;
      await waitFor(`the notice "${notice}"`, async () => (await page.locator('.notice').textContent()) === notice);
      await waitFor('the run page to show done', async () => (await stateShown(page)) === 'done', 60_000);
      await waitFor('the failed task to leave the run page', async () => (await page.locator('tr[data-task]').count()) === 0);
      expect(await page.locator('[data-field=tasks]').textContent()).toMatch(/^31\/31 committed, 0 failed for good/);
      expect((await runCli(['results', failing], { env })).stdout).toBe('{"key":"slow","value":30}\n{"key":"throw","value":1}\n');

      // A run of long calls, cancelled from its page.
      const long = await submit(
        env,
        Array.from({ length: 6 }, () => 'slow:30000'),
      );
      await page.goto(`${dashboard.base}/#/runs/${long}`);
      await waitFor('the run page to show mapping', async () => (await stateShown(page)) === 'mapping', 20_000);
      await waitFor('the run page to list the worker', async () => (await page.locator('.workers tbody tr').count()) === 1, 20_000);
      await page.locator('input[name=concurrency]').fill('1');
      await page.locator('input[name=rate]').fill('20/s');
      await page.locator('.limits-form button').click();
      expect(dialogs.pop()).toMatch(new RegExp(`^Change the limits of run ${long}: concurrency 1, rate 20/s\\?`));
      await waitFor(
        'the run page to show the new limits',
        async () =>
          /^at most 1 map calls in flight \(\d now\); at most 20\/s/.test(
            (await page.locator('[data-field=run-limits]').textContent()) ?? '',
          ),
        10_000,
      );
      await page.locator('button[data-action=cancel]').click();
      expect(dialogs.pop()).toMatch(new RegExp(`^Cancel run ${long}\\?`));
      await waitFor('the run page to show cancelled', async () => (await stateShown(page)) === 'cancelled', 20_000);
      expect(await page.locator('button[data-action=cancel]').isDisabled()).toBe(true);

      // A page of another origin posts to the dashboard: the browser sends it, the dashboard refuses it.
      const target = await submit(env, ['slow:30000']);
      const otherPort = await freePort();
      elsewhere = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<p>elsewhere</p>'));
      await new Promise<void>((resolve) => elsewhere!.listen(otherPort, '127.0.0.1', resolve));
      await page.goto(`http://localhost:${otherPort}/`);
      const sent = await page.evaluate(async (url) => {
        await fetch(url, { method: 'POST', mode: 'no-cors', body: 'cancel=1' });
        return 'sent';
      }, `${dashboard.base}/api/runs/${target}/cancel`);
      expect(sent).toBe('sent');
      expect(await client.hget(`${prefix}:run:{${target}}:meta`, 'state')).toBe('mapping');
      expect((await runCli(['cancel', target], { env })).code).toBe(0);
      const stopped = await dashboard.stop();
      dashboard = undefined;
      const refused = stopped.stderr
        .split('\n')
        .filter((line) => line.includes('"dashboard request refused"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(refused).toContainEqual(
        expect.objectContaining({ path: `/api/runs/${target}/cancel`, status: 403, origin: `http://localhost:${otherPort}` }),
      );
    } finally {
      await page.close();
      elsewhere?.close();
      await dashboard?.stop();
      await workers.stop();
      await wipePrefix(client, prefix);
      await client.close();
    }
  });
});
