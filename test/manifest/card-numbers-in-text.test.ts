import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { assignCards } from '../../src/cards/assign.js';
import { findCardNumbers, maskCardNumbers } from '../../src/card-numbers.js';
import { formatProblem, scanManifest } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { quoted } from '../../src/quote.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Issue 13 item 2: a card number anywhere in a cell's text, not only a cell that is one, rejects
 * the whole manifest before anything is recorded or sent, and no message shows more than its last
 * four digits.
 */

const WRITTEN = ['card 4111111111111111', 'Card 4111 1111 1111 1111 lost', 'old card 4111-1111-1111-1111'];
/** Any of these in an output would be more of the number than its last four digits. */
const NEVER_SHOWN = /4111|1111[ -]?1111/;
const REFUSED = 'holds what looks like a full card number (…1111); card numbers never belong in a manifest';

describe('what counts as a card number', () => {
  it('finds one written unbroken or grouped, anywhere in a text, and shows only its last four digits', () => {
    for (const text of [...WRITTEN, '$4111 1111 1111 1111.00', 'paid 4111 - 1111 - 1111 - 1111', 'x4111111111111111y', 'as 4-6-6: 4111 111111 111111']) {
      expect(findCardNumbers(text).map((n) => n.lastFour), text).toEqual(['1111']);
      expect(maskCardNumbers(text), text).not.toMatch(NEVER_SHOWN);
    }
    expect(maskCardNumbers('card 4111 1111 1111 1111 lost, then 5500-0000-0000-0004')).toBe('card …1111 lost, then …0004');
  });

  it('finds one followed by its expiry or security code in the same grouped run', () => {
    expect(maskCardNumbers('4111 1111 1111 1111 12/26')).toBe('…1111 12/26');
    expect(maskCardNumbers('4111 1111 1111 1111 123')).toBe('…1111 123');
  });

  it('takes only whole runs: Luhn failing, 12 digits, part of a longer unbroken run, or groups over 6 digits is no card number', () => {
    // 20261205084001 passes Luhn: a batch id joins its date and time with a dash.
    for (const text of ['card 4111111111111112', 'ref 411111111113', 'ref 41111111111111111113', 'rerun of 20261205-084001-d7fb4a', 'Visit 11 stipend']) {
      expect(findCardNumbers(text), text).toEqual([]);
      expect(maskCardNumbers(text)).toBe(text);
    }
  });

  it('a quoted value never shows one, even where it is cut at 20 characters', () => {
    expect(quoted('Paid to 4111 1111 1111 1111 on Monday')).toBe('"Paid to …1111 on Mon…"');
    expect(quoted('$4111 1111 1111 1111')).toBe('"$…1111"');
  });
});

describe('manifests', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ providers: ['ctpayer', 'ptapi'] });
  });
  afterAll(() => stack?.close());

  /** Keys under the test's prefix: a rejected manifest leaves none (listing the schedules for the --out check writes nothing). */
  const keysUnderPrefix = () => stack.context.redis.keys(`${stack.prefix}*`);
  const requestsTo = (provider: string) => stack.sandboxes[provider]!.requests();

  const MANIFESTS = {
    ctpayer: ['payment_id,cardId,amount,description', 'ok-1,1000000001,10.00,Visit 1', ...WRITTEN.map((d, i) => `cn-${i},100000000${i + 2},10.00,${d}`)],
    ptapi: ['payment_id,cardholderId,customerId,programId,amount_cents,description', 'ok-1,CH-1,CU-1,PR-1,1000,Visit 1', ...WRITTEN.map((d, i) => `cn-${i},CH-${i + 2},CU-1,PR-1,1000,${d}`)],
  };

  for (const provider of ['ctpayer', 'ptapi'] as const) {
    it(`${provider}: run --allow-partial rejects the whole manifest, shows only the last four digits, records and sends nothing`, async () => {
      const file = await stack.manifest(`${provider}-card-in-text.csv`, MANIFESTS[provider].join('\n'));
      const run = await stipend(['--config', stack.configFile, 'run', file, '--provider', provider, '--allow-partial', '--out', join(stack.dir, 'out')]);
      expect(run.code).toBe(1);
      expect(run.stdout.trimEnd().split('\n')).toEqual([
        `line 3, column description: ${REFUSED}`,
        `line 4, column description: ${REFUSED}`,
        `line 5, column description: ${REFUSED}`,
        'rejected: 4 rows: 1 valid ($10.00), 0 with problems, 3 file problems; nothing was queued',
      ]);
      expect(run.stdout + run.stderr).not.toMatch(NEVER_SHOWN);
      expect(await keysUnderPrefix()).toEqual([]);
      expect(requestsTo(provider)).toEqual([]);
    });
  }

  it('validate, as text and as JSON, never prints the number', async () => {
    const file = await stack.manifest('validate-card-in-text.csv', MANIFESTS.ctpayer.join('\n'));
    const text = await stipend(['validate', file, '--provider', 'ctpayer']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`line 4, column description: ${REFUSED}\n`);
    const json = await stipend(['validate', file, '--provider', 'ctpayer', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).fileProblems).toHaveLength(3);
    expect(text.stdout + text.stderr + json.stdout + json.stderr).not.toMatch(NEVER_SHOWN);
  });

  it('a header cell holding one is quoted masked in the unknown-column problem', async () => {
    const file = await stack.manifest('header-card.csv', 'payment_id,cardId,amount,card 4111 1111 1111 1111\nok-1,1000000001,10.00,x\n');
    const scan = await scanManifest(file, ctpayer);
    expect(scan.fileProblems.map(formatProblem)).toEqual([expect.stringMatching(/^line 1: unknown column "card …1111"; /), expect.stringMatching(/^line 1: missing required column "description"/)]);
  });

  it('a card assignment manifest with a card number in a participantId is refused whole, nothing sent', async () => {
    const file = await stack.manifest('assign-card-in-text.csv', ['cardId,participantId', '1000000021,P-1', ...WRITTEN.map((p, i) => `100000003${i},${p}`)].join('\n'));
    const result = await assignCards(stack.context, stack.account('ctpayer'), file, { out: join(stack.dir, 'never.csv') });
    expect(!result.valid && result.problems.map(formatProblem)).toEqual([3, 4, 5].map((line) => `line ${line}, column participantId: ${REFUSED}`));
    expect(JSON.stringify(result)).not.toMatch(NEVER_SHOWN);
    expect(requestsTo('ctpayer')).toEqual([]);
    expect(await keysUnderPrefix()).toEqual([]);
  });

  // Last: it records a batch under the prefix the tests above find empty.
  it('pays a description holding a Luhn-failing 16-digit run and a 12-digit run', async () => {
    const descriptions = ['card 4111111111111112', 'ref 411111111113'];
    const file = await stack.manifest('long-numbers.csv', ['payment_id,cardId,amount,description', ...descriptions.map((d, i) => `ln-${i},100000000${i + 1},1.00,${d}`)].join('\n'));
    const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
    expect(submitted.accepted && submitted.scan.validRows).toBe(2);
    if (!submitted.accepted) return;
    const workers = await stack.startWorkers([stack.account('ctpayer')]);
    await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
    await workers.close();
    const sent = stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith('ln-'));
    expect(sent.map((t) => t.description).sort()).toEqual(descriptions);
  });
});
