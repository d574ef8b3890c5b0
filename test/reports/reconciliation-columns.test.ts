import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { REPORT_COLUMNS, writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * The reconciliation report carries the manifest's own identifying values (description, the
 * provider's group, participant_id, reimbursement) for every provider, taken from the ledger, so
 * finance recognises each row without the manifest; and nothing more of the provider fields.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'virtualrx', 'ptapi'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());

let files = 0;
async function pay(provider: string, lines: string[], allowPartial = false): Promise<Map<string, Record<string, string>>> {
  const file = await stack.manifest(`columns-${(files += 1)}.csv`, lines.join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account(provider), allowPartial });
  if (!submitted.accepted) throw new Error('manifest refused');
  await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
  const report = await writeReconciliation(stack.context, submitted.batchId, stack.dir);
  const text = await readFile(report.csv, 'utf8');
  expect(text.split('\n')[0]).toBe(REPORT_COLUMNS.join(','));
  return new Map(parseReport(text).map((r) => [r.payment_id!, r]));
}

it('CT Payer: description, groupId, participant_id and reimbursement as the manifest gave them, formula-safe', async () => {
  const rows = await pay('ctpayer', [
    'payment_id,cardId,amount_cents,description,groupId,participant_id,reimbursement',
    'col-ct-1,1000000003,1250,Visit 1 stipend,STUDY-A,S-1001,no',
    // A participant id may start like a formula (its only rule is no control characters), and a
    // description may start with '-': both reach a spreadsheet as text.
    'col-ct-2,1000000004,980,-Parking refund,STUDY-TRAVEL,=1+2,YES',
    'col-ct-3,1000000005,500,Visit 2 stipend,,,',
  ]);
  expect(rows.get('col-ct-1')).toMatchObject({ status: 'paid', payee: '1000000003', description: 'Visit 1 stipend', group_id: 'STUDY-A', participant_id: 'S-1001', reimbursement: 'no' });
  expect(rows.get('col-ct-2')).toMatchObject({ status: 'paid', description: "'-Parking refund", group_id: 'STUDY-TRAVEL', participant_id: "'=1+2", reimbursement: 'yes' });
  expect(rows.get('col-ct-3')).toMatchObject({ status: 'paid', description: 'Visit 2 stipend', group_id: '', participant_id: '', reimbursement: 'no' });
  // The card id is shown as the payee, as before, and nowhere else in the row.
  for (const row of rows.values()) {
    const { payee, ...rest } = row;
    expect(Object.values(rest).some((cell) => cell.includes(payee!))).toBe(false);
  }
});

it('CT Payer: a skipped duplicate shows the held payment\'s values, a rejected row none', async () => {
  await pay('ctpayer', ['payment_id,cardId,amount_cents,description,groupId,participant_id', 'col-dup-1,1000000006,700,Visit 3 stipend,STUDY-B,S-2001']);
  const rows = await pay('ctpayer', [
    'payment_id,cardId,amount_cents,description,groupId,participant_id',
    'col-dup-1,1000000006,700,Visit 3 stipend,STUDY-B,S-2001',
    'col-bad-1,123,700,Visit 3 stipend,STUDY-B,S-2002',
    'col-new-1,1000000007,700,Visit 3 stipend,STUDY-B,S-2003',
  ], true);
  expect(rows.get('col-dup-1')).toMatchObject({ status: 'skipped_duplicate', description: 'Visit 3 stipend', group_id: 'STUDY-B', participant_id: 'S-2001', reimbursement: 'no' });
  expect(rows.get('col-bad-1')).toMatchObject({ status: 'rejected', description: '', group_id: '', participant_id: '', reimbursement: '' });
  expect(rows.get('col-new-1')).toMatchObject({ status: 'paid', participant_id: 'S-2003' });
});

it('VirtualRx: ReasonDescription and ClientGroupID fill description and group_id', async () => {
  const rows = await pay('virtualrx', [
    'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,ReasonDescription,amount_cents,participant_id,reimbursement',
    'col-vrx-1,20230226004,7311,CLM-1,1234,Screening visit stipend,5000,S-1013,no',
    'col-vrx-2,20230226005,7311,CLM-2,1234,,2745,S-1015,yes',
  ]);
  expect(rows.get('col-vrx-1')).toMatchObject({ status: 'paid', description: 'Screening visit stipend', group_id: '1234', participant_id: 'S-1013', reimbursement: 'no' });
  expect(rows.get('col-vrx-2')).toMatchObject({ status: 'paid', description: '', group_id: '1234', participant_id: 'S-1015', reimbursement: 'yes' });
});

it('PT API: a provider without a group field leaves group_id empty', async () => {
  const rows = await pay('ptapi', [
    'payment_id,cardholderId,customerId,programId,amount,description,participant_id',
    'col-pt-1,CH0011,C200,PR300,50.00,Screening visit stipend,S-3001',
  ]);
  expect(rows.get('col-pt-1')).toMatchObject({ status: 'paid', description: 'Screening visit stipend', group_id: '', participant_id: 'S-3001', reimbursement: 'no' });
});

it('masks a card number a payment recorded before issue 13 holds in its description, group or participant id', async () => {
  const file = await stack.manifest('columns-old.csv', 'payment_id,cardId,amount_cents,description,groupId,participant_id\ncol-old-1,1000000008,300,Visit 4 stipend,STUDY-C,S-4001\n');
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('manifest refused');
  await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
  // As an earlier version recorded a row whose text held a card number: the manifest refuses it now.
  const account = stack.account('ctpayer');
  await stack.context.redis.hset(stack.context.keys.payment(account.provider, account.name, submitted.batchId, 'col-old-1'), {
    'f.description': 'card 4111 1111 1111 1111',
    'f.groupId': '5500000000000004',
    participant_id: 'P 4111-1111-1111-1111',
  });
  const report = await writeReconciliation(stack.context, submitted.batchId, stack.dir);
  const text = await readFile(report.csv, 'utf8');
  expect(parseReport(text)[0]).toMatchObject({ payment_id: 'col-old-1', description: 'card …1111', group_id: '…0004', participant_id: 'P …1111' });
  expect(text).not.toMatch(/4111|5500/);
});
