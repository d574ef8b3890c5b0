import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/server.js';
import { createLogger } from '../../src/log.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * The dashboard page as a person sees it: Debian's Chromium (`.ci/run` installs it), headless,
 * signing in with the configured user. Skipped where no Chromium is installed.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CREDENTIALS = { username: 'finance', password: 'correct horse battery staple' };

describe.skipIf(!existsSync(CHROMIUM))('the dashboard in headless Chromium', () => {
  let stack: TestStack;
  let dashboard: RunningDashboard;

  beforeAll(async () => {
    stack = await startStack({ providers: ['ctpayer', 'virtualrx'] });
    dashboard = await startDashboard({ config: stack.config, host: '127.0.0.1', port: 0, engineers: { kind: 'basic', credentials: CREDENTIALS }, readOnly: true, log: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    await dashboard?.close();
    await stack?.close();
  });

  it('renders bull-board with every queue once signed in', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        // This machine reaches nothing but itself: only loopback addresses resolve.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
      ],
    });
    try {
      const context = await browser.newContext({ httpCredentials: CREDENTIALS });
      // The page links web fonts from elsewhere; only the dashboard itself is fetched.
      await context.route('**/*', (route) => (route.request().url().startsWith(dashboard.url) ? route.continue() : route.abort()));
      const page = await context.newPage();
      const response = await page.goto(`${dashboard.url}/queues`);
      expect(response?.status()).toBe(200);
      // Each queue twice: in the side bar (from the page) and on its overview card (from the board's API, signed in too).
      for (const name of ['pay.ctpayer.main', 'pay.virtualrx.main', 'schedules']) {
        await page.getByText(name, { exact: true }).nth(1).waitFor();
      }
      expect(await page.title()).toBe('stipend-batch');
    } finally {
      await browser.close();
    }
  });
});
