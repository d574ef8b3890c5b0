import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { writeFinanceExport } from '../../src/reports/finance-export.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/** Finance exports: across batches and providers, from the ledger; totals equal the ledger's. */

let stack: TestStack;
const batches: string[] = [];
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'virtualrx'] });
  await stack.startWorkers();
  const manifests = {
    ctpayer: ['payment_id,cardId,amount,description,groupId', 'ex-1,1000000001,10.00,Visit 1,SITE-A', 'ex-2,1000000002,20.50,Visit 1,SITE-B', 'ex-3,1000000022,5.00,Visit 1,SITE-A'],
    virtualrx: ['payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents', 'ex-4,20230226001,7311,C4,SITE-A,700', 'ex-5,20230226021,7311,C5,SITE-C,300'],
  };
  for (const [provider, lines] of Object.entries(manifests)) {
    const file = await stack.manifest(`${provider}-export.csv`, lines.join('\n'));
    for (let copy = 0; copy < 2; copy++) {
      // The second copy is a re-drop: its rows are skipped as duplicates and must not count twice.
      const submitted = await submitManifest(stack.context, { file, account: stack.account(provider) });
      if (!submitted.accepted) throw new Error('refused');
      await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
      batches.push(submitted.batchId);
    }
  }
});
afterAll(() => stack?.close());

it('totals per provider equal the batches\' own counts, and every settled payment is one row', async () => {
  const out = join(stack.dir, 'export.csv');
  const { totals, totalsFile } = await writeFinanceExport(stack.context, { from: today, to: today, groupBy: 'provider', out });
  // The ledger's own per-batch counts, summed per provider, are the export's totals.
  const expected = new Map<string, { group: string; status: string; payments: number; cents: number }>();
  for (const batch of await Promise.all(batches.map((id) => stack.context.batches.get(id)))) {
    for (const status of ['paid', 'declined', 'failed', 'unknown'] as const) {
      if (batch[`n_${status}`] === 0) continue;
      const total = expected.get(`${batch.provider}/${status}`) ?? { group: batch.provider, status, payments: 0, cents: 0 };
      total.payments += batch[`n_${status}`];
      total.cents += batch[`c_${status}`];
      expected.set(`${batch.provider}/${status}`, total);
    }
  }
  expect(totals).toEqual([...expected.values()].sort((a, b) => a.group.localeCompare(b.group) || a.status.localeCompare(b.status)));
  // Paid once each, although each manifest was submitted twice; a declined payment was tried again.
  expect(totals.filter((t) => t.status === 'paid')).toEqual([
    { group: 'ctpayer', status: 'paid', payments: 2, cents: 3050 },
    { group: 'virtualrx', status: 'paid', payments: 1, cents: 700 },
  ]);
  const rows = parseReport(await readFile(out, 'utf8'));
  expect(rows.map((r) => r.payment_id).sort()).toEqual(['ex-1', 'ex-2', 'ex-3', 'ex-3', 'ex-4', 'ex-5', 'ex-5']);
  expect(rows.find((r) => r.payment_id === 'ex-2')).toMatchObject({ provider: 'ctpayer', group_id: 'SITE-B', amount: '20.50', status: 'paid', provider_reference: expect.stringMatching(/.+/) });
  expect(parseReport(await readFile(totalsFile, 'utf8'))[1]).toEqual({ group_by: 'provider', group: 'ctpayer', status: 'paid', payments: '2', amount_cents: '3050', amount: '30.50' });
});

it('groups by the providers\' group field, and leaves out a period with no payments', async () => {
  const { totals } = await writeFinanceExport(stack.context, { from: today, to: today, groupBy: 'groupId', out: join(stack.dir, 'by-group.csv') });
  expect(totals.filter((t) => t.status === 'paid')).toEqual([
    { group: 'SITE-A', status: 'paid', payments: 2, cents: 1700 },
    { group: 'SITE-B', status: 'paid', payments: 1, cents: 2050 },
  ]);
  const empty = await writeFinanceExport(stack.context, { from: '2020-01-01', to: '2020-12-31', groupBy: 'batch', out: join(stack.dir, 'empty.csv') });
  expect(empty.totals).toEqual([]);
});
