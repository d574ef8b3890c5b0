import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { resolveConfig } from '../../src/config/load.js';
import { sandboxConfig } from '../../src/config/sandbox-accounts.js';
import { ConfigError } from '../../src/errors.js';
import { thresholdFor, writeTaxExport } from '../../src/reports/tax-export.js';
import { reversePayments } from '../../src/reversals/reverse.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * The tax export: a participant's year across two providers, by participant_id; reimbursements and
 * unpaid rows kept out of the taxable figure; the threshold is configuration.
 */

let stack: TestStack;
let ctpayerBatch = '';
const year = new Date().getUTCFullYear();

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'virtualrx'] });
  await stack.startWorkers();
  const manifests = {
    ctpayer: [
      'payment_id,cardId,amount,description,participant_id,reimbursement',
      'tx-1,1000000001,1500.00,Visit 1,P-A,no',
      'tx-2,1000000001,300.00,Travel,P-A,yes',
      'tx-3,1000000002,1900.00,Visit 1,P-B,',
      'tx-4,1000000003,25.00,Visit 1,,',
      // Card 1000000022 is seeded canceled: declined, so nothing was paid and nothing counts.
      'tx-5,1000000022,700.00,Visit 2,P-B,no',
    ],
    virtualrx: [
      'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents,participant_id,reimbursement',
      'tv-1,20230226001,7311,C1,SITE-A,50000,P-A,no',
      'tv-2,20230226002,7311,C2,SITE-A,40000,P-B,Yes',
      'tv-3,20230226021,7311,C3,SITE-A,30000,P-C,no',
    ],
  };
  for (const [provider, lines] of Object.entries(manifests)) {
    const submitted = await submitManifest(stack.context, { file: await stack.manifest(`${provider}-tax.csv`, lines.join('\n')), account: stack.account(provider) });
    if (!submitted.accepted) throw new Error(`refused: ${JSON.stringify(submitted)}`);
    const batch = await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
    if (provider === 'ctpayer') ctpayerBatch = submitted.batchId;
    if (batch.n_declined !== 1) throw new Error(`expected one declined row in ${provider}, got ${JSON.stringify(batch)}`);
  }
});
afterAll(() => stack?.close());

it('adds up each participant across providers, keeps reimbursements out and flags the threshold', async () => {
  const out = join(stack.dir, 'tax.csv');
  const withThreshold = { ...stack.context, config: { ...stack.context.config, taxThresholds: [{ fromYear: 2000, cents: 200_000 }] } };
  const { participants, thresholdCents } = await writeTaxExport(withThreshold, { year: String(year), out });
  expect(thresholdCents).toBe(200_000);
  expect(participants).toEqual([
    // $1,500 + $500 in stipends, exactly at $2,000: flagged. The $300 travel reimbursement is not income.
    { participant: 'P-A', identifiedBy: 'participant_id', accounts: ['ctpayer/main', 'virtualrx/main'], payments: 3, taxableCents: 200_000, reimbursementCents: 30_000, inDoubtCents: 0, reportable: true },
    // $1,900 taxable (the declined $700 never paid), $400 reimbursed: $2,300 received, below the threshold.
    { participant: 'P-B', identifiedBy: 'participant_id', accounts: ['ctpayer/main', 'virtualrx/main'], payments: 2, taxableCents: 190_000, reimbursementCents: 40_000, inDoubtCents: 0, reportable: false },
    // No participant_id: listed by payee, so a person can match it up. P-C was declined: absent.
    { participant: 'ctpayer/main/1000000003', identifiedBy: 'payee', accounts: ['ctpayer/main'], payments: 1, taxableCents: 2_500, reimbursementCents: 0, inDoubtCents: 0, reportable: false },
  ]);
  const rows = parseReport(await readFile(out, 'utf8'));
  expect(rows[0]).toEqual({
    participant: 'P-A', identified_by: 'participant_id', accounts: 'ctpayer/main virtualrx/main', payments: '3', taxable_cents: '200000', taxable: '2000.00',
    reimbursement_cents: '30000', reimbursement: '300.00', in_doubt_cents: '0', in_doubt: '0.00', threshold: '2000.00', at_or_above_threshold: 'yes',
  });
});

it('uses the year\'s threshold from configuration: a lower one flags more participants', async () => {
  const lower = { ...stack.context, config: { ...stack.context.config, taxThresholds: [{ fromYear: 2000, cents: 60_000 }] } };
  const { participants } = await writeTaxExport(lower, { year: String(year), out: join(stack.dir, 'tax-600.csv') });
  expect(participants.filter((p) => p.reportable).map((p) => p.participant)).toEqual(['P-A', 'P-B']);
  const empty = await writeTaxExport(stack.context, { year: '2020', out: join(stack.dir, 'tax-2020.csv') });
  expect(empty.participants).toEqual([]);
});

it('defaults to $600 through 2025 and $2,000 from 2026, and refuses a year no threshold covers', () => {
  const config = resolveConfig(sandboxConfig(), 'built-in');
  expect(thresholdFor(config, 2025)).toBe(60_000);
  expect(thresholdFor(config, 2026)).toBe(200_000);
  expect(thresholdFor(config, 2031)).toBe(200_000);
  const custom = resolveConfig({ ...sandboxConfig(), taxThresholds: [{ fromYear: 2027, amount: '2500.00' }] }, 'custom.json');
  expect(thresholdFor(custom, 2027)).toBe(250_000);
  expect(() => thresholdFor(custom, 2026)).toThrow(ConfigError);
});

it('takes a confirmed reversal off the year, and counts one still in doubt', async () => {
  const withThreshold = { ...stack.context, config: { ...stack.context.config, taxThresholds: [{ fromYear: 2000, cents: 200_000 }] } };
  // P-A's $1,500 stipend goes back: the year keeps the payment and takes the reversal off.
  const [reversed] = await reversePayments(stack.context, { batchId: ctpayerBatch, paymentIds: ['tx-1'], reason: 'Paid in error' }, personHere('alice'));
  expect(reversed).toMatchObject({ kind: 'reversed' });
  const { participants } = await writeTaxExport(withThreshold, { year: String(year), out: join(stack.dir, 'tax-reversed.csv') });
  expect(participants.find((p) => p.participant === 'P-A')).toMatchObject({ taxableCents: 50_000, reimbursementCents: 30_000, payments: 3, reportable: false });

  // A reversal whose answer was lost may not have given anything back: P-B keeps the $1,900.
  stack.sandboxes.ctpayer!.setFaults([{ kind: 'drop-after', paths: ['/chargecard.php'] }]);
  const [inDoubt] = await reversePayments(stack.context, { batchId: ctpayerBatch, paymentIds: ['tx-3'], reason: 'Paid in error' }, personHere('alice'));
  stack.sandboxes.ctpayer!.setFaults([]);
  expect(inDoubt).toMatchObject({ kind: 'reversal_unknown' });
  const after = await writeTaxExport(withThreshold, { year: String(year), out: join(stack.dir, 'tax-in-doubt.csv') });
  expect(after.participants.find((p) => p.participant === 'P-B')).toMatchObject({ taxableCents: 190_000, reimbursementCents: 40_000 });
});
