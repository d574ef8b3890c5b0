import { readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { type RunningDashboard, startDashboard } from '../../src/dashboard/server.js';
import { createLogger } from '../../src/log.js';
import { duration } from '../../src/readable-numbers.js';
import { type Browser, addPerson, signIn, startConsole } from '../helpers/console.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * The console's Upload page over real HTTP: a manifest is validated as `stipend run --dry-run`
 * validates it, and only that very file (by SHA-256) is submitted, once, by the person who uploaded it.
 */

let stack: TestStack;
let console_: RunningDashboard;
let sam: Browser;
let uploadsDir: string;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  console_ = await startConsole(stack);
  uploadsDir = join(stack.dir, 'uploads');
  await addPerson(stack, 'vera', 'viewer');
  await addPerson(stack, 'sam', 'submitter');
  await addPerson(stack, 'sue', 'submitter');
  sam = await signIn(console_.url, 'sam');
  expect((await sam.get('/console/upload')).status).toBe(200);
});
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});
beforeEach(() => {
  for (const sandbox of Object.values(stack.sandboxes)) sandbox.reset();
});
// Each test starts with no upload waiting: one left validated by a test is not the next one's.
afterEach(async () => {
  for (const key of await uploadKeys()) await stack.context.redis.del(key);
  for (const name of await storedFiles()) await rm(join(uploadsDir, name), { force: true });
});

const VALID = 'fixtures/ctpayer/valid.csv';

function manifestForm(name: string, content: string | Uint8Array, account = 'ctpayer/main'): FormData {
  const form = new FormData();
  form.set('account', account);
  form.set('manifest', new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: 'text/csv' }), name);
  return form;
}

/** A manifest of `rows` CT Payer payments of $75.00, ids starting with `tag` so each test's are its own. */
function ctpayerManifest(tag: string, rows = 3): string {
  const lines = ['payment_id,cardId,amount,description,groupId'];
  for (let i = 1; i <= rows; i += 1) lines.push(`${tag}-${i},100000000${i},75.00,Visit stipend,${tag}`);
  return `${lines.join('\n')}\n`;
}

async function validate(browser: Browser, name: string, content: string | Uint8Array) {
  const answer = await browser.post('/console/upload', manifestForm(name, content));
  return { ...answer, token: /name="upload" value="([^"]+)"/.exec(answer.text)?.[1] };
}

const batchIds = () => stack.context.batches.batchIds();
const uploadKeys = () => stack.context.redis.keys(stack.context.keys.consoleUpload('*'));
const storedFiles = () => readdir(uploadsDir).catch(() => [] as string[]);

/** Every value under the stack's prefix, as one text: what Redis holds. */
async function everythingInRedis(): Promise<string> {
  const { redis } = stack.context;
  const parts: string[] = [];
  for (const key of await redis.keys(`${stack.prefix}:*`)) {
    const type = await redis.type(key);
    if (type === 'string') parts.push((await redis.get(key)) ?? '');
    else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === 'set') parts.push(...(await redis.smembers(key)));
    else if (type === 'zset') parts.push(...(await redis.zrange(key, '0', '-1')));
    else if (type === 'list') parts.push(...(await redis.lrange(key, 0, -1)));
    else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    parts.push(key);
  }
  return parts.join('\n');
}

describe('uploading a manifest', () => {
  it('shows the upload form with every account, the size limit and its labels', async () => {
    const form = await sam.get('/console/upload');
    expect(form.text).toContain('enctype="multipart/form-data"');
    expect(form.text).toMatch(/<label for="account">Account<select id="account" name="account"/);
    expect(form.text).toContain('<option value="ctpayer/main">CT Payer — main</option>');
    expect(form.text).toMatch(/<label for="manifest">Manifest \(CSV\)<input id="manifest" name="manifest" type="file"/);
    expect(form.text).toContain('at most 50 MB');
    expect(form.text).toContain('<button type="submit">Validate</button>');
  });

  it('validates a clean manifest, keeps only its facts in Redis, and submits exactly it as the person who uploaded it', async () => {
    const content = await readFile(VALID, 'utf8');
    const result = await validate(sam, 'valid.csv', content);
    expect(result.status).toBe(200);
    expect(result.text).toContain('<dt>Rows</dt><dd>12 rows, all valid</dd>');
    expect(result.text).toContain('<dt>Total</dt><dd>$775.95</dd>');
    expect(result.text).toContain('<dt>Approval</dt><dd>Not needed');
    expect(result.text).toContain('<dt>Funding balance</dt><dd>$50,000.00, enough for $775.95</dd>');
    // 12 payments at CT Payer's 20 per second.
    expect(result.text).toContain('<dt>Time to pay</dt><dd>About 1 second for 12 payments ($775.95) at the account&#39;s rate limit of 20 payments per 1 second</dd>');
    expect(result.text).toContain('Not submitted through this account before');
    expect(result.text).toContain('<button type="submit">Submit batch</button>');
    expect(result.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // On disk: one file, private, under a random name; in Redis: where it is and what it is, not what it holds.
    const [stored] = await storedFiles();
    expect(stored).toMatch(/^[0-9a-f]{32}$/);
    expect((await stat(uploadsDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(uploadsDir, stored!))).mode & 0o777).toBe(0o600);
    const record = await stack.context.redis.hgetall(stack.context.keys.consoleUpload(result.token!));
    expect(Object.keys(record).sort()).toEqual(['account', 'file', 'name', 'original', 'sha256']);
    expect(record).toMatchObject({ file: join(uploadsDir, stored!), account: 'ctpayer/main', name: 'sam', original: 'valid.csv', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await stack.context.redis.pttl(stack.context.keys.consoleUpload(result.token!))).toBeGreaterThan(59 * 60_000);
    const redis = await everythingInRedis();
    for (const fromTheFile of ['ONC301', '1000000001', 'Visit 3 stipend', '23.40']) expect(redis).not.toContain(fromTheFile);
    expect(await batchIds()).toEqual([]);

    const submitted = await sam.post('/console/submit', { upload: result.token! });
    expect(submitted.status).toBe(303);
    const batchId = /^\/console\/batches\/(.+)$/.exec(submitted.headers.get('location')!)![1]!;
    const batch = await stack.context.batches.get(batchId);
    expect(batch).toMatchObject({ provider: 'ctpayer', account: 'main', source: 'valid.csv', submitted_by: 'console:sam', total_cents: 77_595, rows_total: 12, accepted: 12, sha256: record.sha256 });
    expect(batch.state).toMatch(/^(enqueued|settled)$/);
    expect(await batchIds()).toEqual([batchId]);
    expect(await storedFiles()).toEqual([]);
    expect(await uploadKeys()).toEqual([]);

    // The same file again: the page says so before anything is submitted.
    const again = await validate(sam, 'valid.csv', content);
    expect(again.text).toContain(`Already submitted as <a href="/console/batches/${batchId}">batch ${batchId}</a> (valid.csv,`);
    expect(again.text).toContain('12 payments ($775.95) already held by earlier batches');
    expect(again.text).toContain('Nothing to pay');
  });

  it('shows each problem of a refused manifest by line, column and rule, and records nothing', async () => {
    const before = await batchIds();
    const result = await validate(sam, 'broken-mixed.csv', await readFile('fixtures/ctpayer/broken-mixed.csv'));
    expect(result.status).toBe(422);
    expect(result.token).toBeUndefined();
    expect(result.text).toContain('broken-mixed.csv was refused: 8 rows: 5 valid ($323.10), 3 with problems. Nothing was recorded');
    expect(result.text).toContain('<th scope="col" class="num">Line</th><th scope="col">Column</th><th scope="col">Problem</th>');
    expect(result.text).toMatch(/<tr><td class="num">4<\/td><td>cardId<\/td><td>[^<]*10 digits[^<]*<\/td><\/tr>/);
    expect(result.text).toMatch(/<tr><td class="num">6<\/td><td>amount<\/td><td>[^<]+<\/td><\/tr>/);
    expect(result.text).toMatch(/<tr><td class="num">8<\/td><td>description<\/td><td>[^<]+<\/td><\/tr>/);
    // The form again, the account still chosen.
    expect(result.text).toContain('<option value="ctpayer/main" selected>');
    expect(await batchIds()).toEqual(before);
    expect(await uploadKeys()).toEqual([]);
    expect(await storedFiles()).toEqual([]);
  });

  it('refuses, each with a clear message, a file in another encoding, not CSV, empty, with a card number, or over the size limit', async () => {
    const latin1 = Buffer.from('payment_id,cardId,amount,description,groupId\nx-1,1000000001,75.00,Visite d\u00e9but,G\n', 'latin1');
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['latin1.csv', latin1, /not valid UTF-8/],
      ['picture.csv', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]), /not valid UTF-8|not a CSV/],
      ['empty.csv', '', /<td>[^<]*(empty|no header|no rows)[^<]*<\/td>/i],
      ['card.csv', await readFile('fixtures/ctpayer/broken-card-number.csv'), /<td>[^<]*card number[^<]*<\/td>/],
    ];
    for (const [name, content, message] of cases) {
      const result = await validate(sam, name, content);
      expect(result.status, name).toBe(422);
      expect(result.text, name).toContain(`${name} was refused`);
      expect(result.text, name).toMatch(message);
    }
    // The card number itself is never shown back.
    expect((await validate(sam, 'card.csv', await readFile('fixtures/ctpayer/broken-card-number.csv'))).text).not.toContain('4111 1111 1111 1111');

    const oversize = await sam.post('/console/upload', manifestForm('huge.csv', new Uint8Array(50 * 1024 * 1024 + 1)));
    expect(oversize.status).toBe(400);
    expect(oversize.text).toContain('the file is larger than 50 MB');
    expect(await uploadKeys()).toEqual([]);
    expect(await storedFiles()).toEqual([]);
  });

  it('refuses a form without a file, or for an account that is not configured, and one with more fields than the form has', async () => {
    const noFile = new FormData();
    noFile.set('account', 'ctpayer/main');
    expect((await sam.post('/console/upload', noFile)).text).toContain('choose a manifest file (CSV) to upload');
    const other = await sam.post('/console/upload', manifestForm('a.csv', ctpayerManifest('acct'), 'ptapi/main'));
    expect([other.status, other.text.includes('choose one of the configured accounts')]).toEqual([400, true]);
    const stuffed = manifestForm('a.csv', ctpayerManifest('stuffed'));
    stuffed.set('extra', 'x');
    const refused = await sam.post('/console/upload', stuffed);
    expect([refused.status, refused.text.includes('fields the upload form does not have')]).toEqual([400, true]);
    expect(await uploadKeys()).toEqual([]);
    expect(await storedFiles()).toEqual([]);
  });
});

describe('who may upload and submit', () => {
  it('refuses a viewer the page, the upload and the submission (403), storing nothing', async () => {
    const vera = await signIn(console_.url, 'vera');
    expect((await vera.get('/console/upload')).status).toBe(403);
    await vera.get('/console/batches');
    const upload = await vera.post('/console/upload', manifestForm('v.csv', ctpayerManifest('viewer')));
    expect(upload.status).toBe(403);
    expect(await storedFiles()).toEqual([]);

    const { token } = await validate(sam, 'mine.csv', ctpayerManifest('viewer-submit'));
    const before = await batchIds();
    const submit = await vera.post('/console/submit', { upload: token! });
    expect(submit.status).toBe(403);
    expect(await batchIds()).toEqual(before);
    expect(await uploadKeys()).toHaveLength(1);
    // Sam's upload is untouched: they still submit it.
    expect((await sam.post('/console/submit', { upload: token! })).status).toBe(303);
  });

  it('lets only the person who uploaded a manifest submit it', async () => {
    const sue = await signIn(console_.url, 'sue');
    await sue.get('/console/upload');
    const { token } = await validate(sam, 'sams.csv', ctpayerManifest('owner'));
    const before = await batchIds();
    const taken = await sue.post('/console/submit', { upload: token! });
    expect(taken.status).toBe(403);
    expect(taken.text).toContain('this upload is sam&#39;s: only the person who uploaded a manifest may submit it');
    expect(await batchIds()).toEqual(before);
    const submitted = await sam.post('/console/submit', { upload: token! });
    expect(submitted.status).toBe(303);
    const batchId = submitted.headers.get('location')!.split('/').pop()!;
    expect((await stack.context.batches.get(batchId)).submitted_by).toBe('console:sam');
  });

  it('refuses an upload and a submission without the CSRF token, with a wrong one, or from another origin, changing nothing', async () => {
    const { token } = await validate(sam, 'csrf.csv', ctpayerManifest('csrf'));
    const before = await batchIds();
    const forged = [
      () => sam.post('/console/submit', { upload: token! }, { csrf: null }),
      () => sam.post('/console/submit', { upload: token! }, { csrf: 'x'.repeat(43) }),
      () => sam.post('/console/submit', { upload: token! }, { origin: 'http://127.0.0.1:1' }),
    ];
    for (const attempt of forged) expect((await attempt()).status).toBe(403);
    expect(await batchIds()).toEqual(before);
    expect(await uploadKeys()).toHaveLength(1);
    expect(await storedFiles()).toHaveLength(1);

    // An upload refused the same ways leaves no file behind and no record.
    const forgedUploads = [
      () => sam.post('/console/upload', manifestForm('f.csv', ctpayerManifest('forged')), { csrf: null }),
      () => sam.post('/console/upload', manifestForm('f.csv', ctpayerManifest('forged')), { csrf: 'x'.repeat(43) }),
      () => sam.post('/console/upload', manifestForm('f.csv', ctpayerManifest('forged')), { origin: 'http://127.0.0.1:1' }),
    ];
    for (const attempt of forgedUploads) expect((await attempt()).status).toBe(403);
    expect(await uploadKeys()).toHaveLength(1);
    expect(await storedFiles()).toHaveLength(1);

    expect((await sam.post('/console/submit', { upload: token! })).status).toBe(303);
  });
});

describe('submitting', () => {
  it('makes one batch of an upload submitted twice at once (a double click); the second is told why', async () => {
    const { token } = await validate(sam, 'twice.csv', ctpayerManifest('twice'));
    const before = await batchIds();
    const answers = await Promise.all([sam.post('/console/submit', { upload: token! }), sam.post('/console/submit', { upload: token! })]);
    expect(answers.map((a) => a.status).sort()).toEqual([303, 400]);
    expect(answers.find((a) => a.status === 400)!.text).toContain('this upload expired or was already submitted; upload it again');
    const after = await batchIds();
    expect(after).toHaveLength(before.length + 1);
    const again = await sam.post('/console/submit', { upload: token! });
    expect([again.status, await batchIds()]).toEqual([400, after]);
  });

  it('refuses a file changed on disk after its validation (SHA-256), recording nothing', async () => {
    const { token } = await validate(sam, 'changed.csv', ctpayerManifest('changed'));
    const [stored] = await storedFiles();
    await writeFile(join(uploadsDir, stored!), ctpayerManifest('changed', 40));
    const before = await batchIds();
    const refused = await sam.post('/console/submit', { upload: token! });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('changed.csv changed after its validation; nothing was recorded; upload it again');
    expect(await batchIds()).toEqual(before);
    expect(await storedFiles()).toEqual([]);
    expect(stack.sandboxes.ctpayer!.transactions()).toEqual([]);
  });

  it('shows a refusal at submission (the funding balance cannot be read) and records nothing', async () => {
    const { token } = await validate(sam, 'funding.csv', ctpayerManifest('funding'));
    stack.sandboxes.ctpayer!.setFaults([{ kind: 'server-error', paths: ['/getaccountbalance.php'] }]);
    const before = await batchIds();
    const refused = await sam.post('/console/submit', { upload: token! });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('funding.csv was refused: could not read the CT Payer funding balance');
    expect(await batchIds()).toEqual(before);
    expect(await storedFiles()).toEqual([]);
  });
});

describe('where uploads wait', () => {
  it('keeps them in the configuration\'s dashboard.uploadsDir, made private', async () => {
    const raw = JSON.parse(await readFile(stack.configFile, 'utf8')) as Record<string, unknown>;
    const configured = join(stack.dir, 'configured-uploads');
    const config = resolveConfig({ ...raw, dashboard: { uploadsDir: configured } }, stack.configFile);
    expect(config.dashboard.uploadsDir).toBe(configured);
    const own = await startDashboard({ config, host: '127.0.0.1', port: 0, engineers: { kind: 'open' }, readOnly: true, log: createLogger({ level: 'silent' }) });
    try {
      const browser = await signIn(own.url, 'sam');
      await browser.get('/console/upload');
      expect((await validate(browser, 'here.csv', ctpayerManifest('configured'))).status).toBe(200);
      expect(await readdir(configured)).toHaveLength(1);
      expect((await stat(configured)).mode & 0o777).toBe(0o700);
    } finally {
      await own.close();
    }
  });
});

describe('uploads never submitted', () => {
  it('are removed once their record has certainly expired', async () => {
    const { token } = await validate(sam, 'forgotten.csv', ctpayerManifest('forgotten'));
    const [forgotten] = await storedFiles();
    const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000);
    await utimes(join(uploadsDir, forgotten!), threeHoursAgo, threeHoursAgo);
    await validate(sam, 'next.csv', ctpayerManifest('next'));
    expect(await storedFiles()).not.toContain(forgotten);
    expect(await storedFiles()).toHaveLength(1);
    // Its record, had it outlived the file, finds nothing to submit.
    const refused = await sam.post('/console/submit', { upload: token! });
    expect([refused.status, refused.text.includes('forgotten.csv is no longer stored')]).toEqual([400, true]);
  });
});

describe('a time to pay in words', () => {
  it('is rounded up: whole seconds, whole minutes from 2 minutes, whole hours from 2 hours', () => {
    expect([600, 1000, 1001, 119_000, 120_000, 185_000, 7_199_999, 7_200_000, 7_200_001].map(duration)).toEqual([
      '1 second', '1 second', '2 seconds', '119 seconds', '2 minutes', '4 minutes', '120 minutes', '2 hours', '3 hours',
    ]);
  });
});
