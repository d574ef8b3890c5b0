import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSettled } from '../../src/ledger/batches.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { PaymentLedger } from '../../src/ledger/payments.js';
import { PASSWORD, addPerson, startConsole } from '../helpers/console.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * The console as people use it, in Debian's Chromium (headless; `.ci/run` installs it): a submitter
 * and an approver carry batches from upload to paid and download the report, an unknown row is
 * resolved, a viewer is refused every action, a forged cross-site form is refused, and nobody
 * approves their own batch. Every page is checked with axe-core (no serious or critical finding),
 * for no Content-Security-Policy violation, and for fitting 390 px without sideways scrolling.
 * Screenshots of every page at 1280 and 390 px go to screenshots/console/ (not committed).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', 'screenshots', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let stack: TestStack;
let dashboard: RunningDashboard;
let browser: Browser;
let evil: Server;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  // Every batch needs a second person's approval.
  stack = await startStack({ providers: ['ctpayer', 'ontraport'], account: { approval: 'always' } });
  await stack.startWorkers();
  dashboard = await startConsole(stack);
  await addPerson(stack, 'sam', 'submitter');
  await addPerson(stack, 'ann', 'approver');
  await addPerson(stack, 'bob', 'approver');
  await addPerson(stack, 'vera', 'viewer');
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
  // Another origin on this host (another port: same site, so SameSite cookies still go along):
  // a page that posts a form to the console as soon as it loads.
  evil = createServer((request, response) => {
    const target = new URL(request.url ?? '/', 'http://x').searchParams.get('target') ?? '';
    response.setHeader('content-type', 'text/html');
    response.end(`<!doctype html><form id="f" method="post" action="${target}"><input name="_csrf" value="guessed"></form><script>document.getElementById('f').submit()</script>`);
  });
  evil.listen(0, '127.0.0.1');
  await new Promise((resolve) => evil.once('listening', resolve));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  evil?.close();
  await dashboard?.close();
  await stack?.close();
});

interface Person {
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy violations the browser reported. */
  violations: string[];
}

async function signedIn(name: string, width = 1280): Promise<Person> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  await context.route('**/*', (route) => (route.request().url().startsWith('http://127.0.0.1') ? route.continue() : route.abort()));
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${dashboard.url}/console/`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console\/batches/);
  return { context, page, violations };
}

/** axe-core's serious and critical findings on the page, and whether it scrolls sideways. */
async function check(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}-${page.viewportSize()!.width}.png`), fullPage: true });
  await page.evaluate(AXE);
  const findings = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  });
  expect(findings, `${name}: accessibility`).toEqual([]);
  // What sticks out past the window's right edge (outside a scrolling table), if anything.
  const sideways = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1 && !node.closest('.table-wrap'))
    .slice(0, 3)
    .map((node) => `<${node.tagName.toLowerCase()} class="${node.className}"> ${Math.round(node.getBoundingClientRect().right)} px`));
  expect(sideways, `${name}: sticks out at ${page.viewportSize()!.width} px`).toEqual([]);
}

async function upload(person: Person, account: string, name: string, csv: string): Promise<string> {
  const { page } = person;
  await page.goto(`${dashboard.url}/console/upload`);
  await page.getByLabel('Account').selectOption(account);
  await page.getByLabel('Manifest (CSV)').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Validate' }).click();
  await page.getByRole('button', { name: 'Submit batch' }).waitFor();
  await page.getByRole('button', { name: 'Submit batch' }).click();
  await page.waitForURL(/\/console\/batches\/[A-Za-z0-9_-]+$/);
  return page.url().split('/').at(-1)!;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The approvals page's section of one batch. */
function approvalOf(page: Page, batchId: string) {
  return page.locator('section').filter({ hasText: batchId });
}

describe.skipIf(!existsSync(CHROMIUM))('the console in headless Chromium', () => {
  const CT = ['payment_id,cardId,amount,description,groupId', 'WEB-0001,1000000001,75.00,Visit 3 stipend,WEB-V3', 'WEB-0002,1000000002,20.50,Parking,WEB-V3'].join('\n');

  it('carries a batch from upload through approval to paid, live, and downloads its report', { timeout: 120_000 }, async () => {
    const sam = await signedIn('sam');
    await sam.page.goto(`${dashboard.url}/console/upload`);
    await check(sam.page, 'upload');

    // A broken file first: each bad cell by line and column, and nothing recorded.
    await sam.page.getByLabel('Account').selectOption('ctpayer/main');
    await sam.page.getByLabel('Manifest (CSV)').setInputFiles({ name: 'broken.csv', mimeType: 'text/csv', buffer: Buffer.from('payment_id,cardId,amount,description,groupId\nWEB-9,12345,75.00,Visit,WEB\n') });
    await sam.page.getByRole('button', { name: 'Validate' }).click();
    await expect.poll(() => sam.page.locator('main').innerText()).toMatch(/cardId/);
    await check(sam.page, 'upload-refused');
    expect(await sam.page.getByRole('button', { name: 'Submit batch' }).count()).toBe(0);
    const before = (await stack.context.batches.batchIds()).length;

    const batchId = await upload(sam, 'ctpayer/main', 'visit-3.csv', CT);
    expect((await stack.context.batches.batchIds()).length).toBe(before + 1);
    const submitted = await stack.context.batches.get(batchId);
    expect(submitted).toMatchObject({ state: 'awaiting_approval', submitted_by: 'console:sam', total_cents: 9550, source: 'visit-3.csv' });

    const ann = await signedIn('ann');
    await ann.page.goto(`${dashboard.url}/console/approvals`);
    await check(ann.page, 'approvals');
    await expect.poll(() => approvalOf(ann.page, batchId).innerText()).toMatch(/95\.50/);
    // The batch page, open before approval, follows the payments live (server-sent events).
    const watcher = await ann.context.newPage();
    await watcher.goto(`${dashboard.url}/console/batches/${batchId}`);
    await approvalOf(ann.page, batchId).getByRole('button', { name: 'Approve' }).click();
    await until(() => stack.context.batches.get(batchId), isSettled, 'the batch to be paid');
    await expect.poll(() => watcher.locator(`[data-batch-id="${batchId}"] span[data-field="final"]`).first().innerText(), { timeout: 15_000 }).toBe('2');
    const settled = await stack.context.batches.get(batchId);
    expect(settled).toMatchObject({ approved_by: 'console:ann', n_paid: 2, c_paid: 9550 });
    // The rows were drawn awaiting approval: the page offers them as they are now.
    await watcher.getByRole('link', { name: 'show the rows as they are now' }).click();
    await expect.poll(() => watcher.locator('table').last().innerText()).toMatch(/WEB-0001[\s\S]*paid[\s\S]*WEB-0002[\s\S]*paid/);
    await check(watcher, 'batch');

    const download = watcher.waitForEvent('download');
    await watcher.getByRole('link', { name: 'reconciliation.csv' }).click();
    const rows = parseReport(await readFile((await (await download).path())!, 'utf8'));
    expect(rows.map((r) => [r.payment_id, r.status])).toEqual([['WEB-0001', 'paid'], ['WEB-0002', 'paid']]);
    expect(rows.every((r) => r.provider_reference !== '')).toBe(true);
    // What the sandbox received: each card loaded once, with its amount.
    expect(stack.sandboxes.ctpayer!.transactions().filter((t) => t.payee === '1000000001' || t.payee === '1000000002').map((t) => t.amountCents).sort()).toEqual([2050, 7500]);

    await ann.page.goto(`${dashboard.url}/console/batches`);
    await check(ann.page, 'batches');
    for (const person of [sam, ann]) expect(person.violations).toEqual([]);
    await Promise.all([sam.context.close(), ann.context.close()]);
  });

  it('lets an approver resolve an unknown row, with the provider\'s reference', { timeout: 120_000 }, async () => {
    const ann = await signedIn('ann');
    const bob = await signedIn('bob');
    // ONTRAPORT answers result 7 for gateway 1724: the sale's outcome is unknown.
    const batchId = await upload(ann, 'ontraport/main', 'derm.csv', ['payment_id,contact_id,invoice_id,gateway_id,product_id,amount,description', 'WEB-U1,129003,1,1724,1,15.00,Visit 1 stipend'].join('\n'));
    await bob.page.goto(`${dashboard.url}/console/approvals`);
    await approvalOf(bob.page, batchId).getByRole('button', { name: 'Approve' }).click();
    await until(() => stack.context.batches.get(batchId), isSettled, 'the batch to settle');

    await bob.page.goto(`${dashboard.url}/console/needs-a-person`);
    await check(bob.page, 'needs-a-person');
    const row = bob.page.locator('section').filter({ hasText: 'WEB-U1' });
    await expect.poll(() => row.innerText()).toMatch(/15\.00/);
    await row.getByLabel('Paid', { exact: true }).check();
    await row.getByLabel('Provider reference').fill('ONT-SALE-777');
    await row.getByLabel('Note').fill('found in the ONTRAPORT portal');
    await row.getByRole('button', { name: 'Resolve' }).click();
    const ledger = new PaymentLedger(stack.context.redis, stack.context.keys, 'ontraport', 'main', stack.context.archive);
    const record = await until(() => ledger.get({ batchId, paymentId: 'WEB-U1' }), (r) => r?.status === 'paid', 'the row to be resolved');
    expect(record?.reference).toBe('ONT-SALE-777');
    await Promise.all([ann.context.close(), bob.context.close()]);
  });

  it('refuses a viewer every action, a forged cross-site form, and anyone approving their own batch', { timeout: 120_000 }, async () => {
    const sam = await signedIn('sam');
    const ann = await signedIn('ann');
    const waiting = await upload(sam, 'ctpayer/main', 'visit-4.csv', CT.replaceAll('WEB-000', 'WEB-100'));
    const own = await upload(ann, 'ctpayer/main', 'visit-5.csv', CT.replaceAll('WEB-000', 'WEB-200'));

    // The viewer sees no action and is refused each one when posting it anyway (with a valid token).
    const vera = await signedIn('vera');
    expect(await vera.page.getByRole('link', { name: 'Upload' }).count()).toBe(0);
    expect((await vera.page.goto(`${dashboard.url}/console/upload`))?.status()).toBe(403);
    await vera.page.goto(`${dashboard.url}/console/approvals`);
    expect(await vera.page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    const csrf = await vera.page.locator('input[name="_csrf"]').first().getAttribute('value');
    const posts: [string, Record<string, string>][] = [
      ['/console/upload', {}],
      ['/console/submit', { upload: 'x' }],
      [`/console/batches/${waiting}/approve`, {}],
      [`/console/batches/${waiting}/cancel`, {}],
      ['/console/payments/resolve', { batchId: waiting, paymentId: 'WEB-1001', verdict: 'not-paid' }],
      ['/console/payments/reverse', { batchId: waiting, paymentId: 'WEB-1001', reason: 'test' }],
      ['/console/people/add', { name: 'mallory', role: 'admin' }],
    ];
    for (const [path, form] of posts) {
      const answer = await vera.context.request.post(`${dashboard.url}${path}`, { form: { _csrf: csrf!, ...form }, headers: { origin: dashboard.url }, maxRedirects: 0 });
      expect(answer.status(), path).toBe(403);
    }
    expect((await stack.context.batches.get(waiting)).state).toBe('awaiting_approval');
    expect(await stack.context.redis.exists(stack.context.keys.person('mallory'))).toBe(0);

    // A page on another origin posts the approval form in the approver's browser: refused.
    const { port } = evil.address() as AddressInfo;
    const forged = await ann.page.goto(`http://127.0.0.1:${port}/?target=${encodeURIComponent(`${dashboard.url}/console/batches/${waiting}/approve`)}`);
    await ann.page.waitForURL(`${dashboard.url}/console/batches/${waiting}/approve`);
    expect(forged).not.toBeNull();
    await expect.poll(() => ann.page.locator('main').innerText()).toMatch(/cross-site request refused/);
    expect((await stack.context.batches.get(waiting)).state).toBe('awaiting_approval');

    // Ann submitted `own`: she may approve others' batches, never hers. The page says so, and the
    // server refuses her post all the same.
    await ann.page.goto(`${dashboard.url}/console/approvals`);
    expect(await approvalOf(ann.page, own).getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
    const annPost = await ann.context.request.post(`${dashboard.url}/console/batches/${own}/approve`, {
      form: { _csrf: (await ann.page.locator('input[name="_csrf"]').first().getAttribute('value'))! }, headers: { origin: dashboard.url }, maxRedirects: 0,
    });
    expect(annPost.status()).toBe(400);
    expect(await annPost.text()).toMatch(/submitted batch .*someone else must approve it/);
    expect((await stack.context.batches.get(own)).state).toBe('awaiting_approval');
    // Sam, a submitter, may not approve at all, his own batch least of all.
    const samPost = await sam.context.request.post(`${dashboard.url}/console/batches/${waiting}/approve`, {
      form: { _csrf: (await sam.page.locator('input[name="_csrf"]').first().getAttribute('value'))! }, headers: { origin: dashboard.url }, maxRedirects: 0,
    });
    expect(samPost.status()).toBe(403);
    expect((await stack.context.batches.get(waiting)).state).toBe('awaiting_approval');
    await Promise.all([sam.context.close(), ann.context.close(), vera.context.close()]);
  });

  it('shows every page accessibly at 390 px wide', { timeout: 120_000 }, async () => {
    const admin = 'ada';
    await addPerson(stack, admin, 'admin');
    const phone = await signedIn(admin, 390);
    const [someBatch] = await stack.context.batches.batchIds();
    for (const [name, path] of [
      ['batches', '/console/batches'], ['batch', `/console/batches/${someBatch}`], ['upload', '/console/upload'], ['approvals', '/console/approvals'],
      ['needs-a-person', '/console/needs-a-person'], ['finance', '/console/finance'], ['audit', '/console/audit'], ['people', '/console/people'],
    ] as const) {
      expect((await phone.page.goto(`${dashboard.url}${path}`))?.status(), path).toBe(200);
      await check(phone.page, name);
    }
    const wide = await signedIn(admin);
    for (const [name, path] of [['finance', '/console/finance'], ['audit', '/console/audit'], ['people', '/console/people']] as const) {
      await wide.page.goto(`${dashboard.url}${path}`);
      await check(wide.page, name);
    }
    const signIn = await browser.newPage({ viewport: { width: 390, height: 800 } });
    await signIn.goto(`${dashboard.url}/console/sign-in`);
    await check(signIn, 'sign-in');
    expect(phone.violations).toEqual([]);
    await Promise.all([phone.context.close(), wide.context.close(), signIn.close()]);
  });
});
