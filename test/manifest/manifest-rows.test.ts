import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ManifestRow, manifestRows } from '../../src/manifest/index.js';
import { derivePaymentId } from '../../src/manifest/payment-id.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import type { AnyAdapter } from '../../src/providers/index.js';
import { virtualrx } from '../../src/providers/virtualrx.js';

/** Pass 2 (manifestRows) and the payment ids it gives rows without payment_id. */

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'manifest-rows-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function write(content: string): Promise<string> {
  const path = join(dir, `m${(files += 1)}.csv`);
  await writeFile(path, content);
  return path;
}

async function rowsOf(content: string, adapter: AnyAdapter = ctpayer): Promise<ManifestRow[]> {
  const out: ManifestRow[] = [];
  for await (const row of manifestRows(await write(content), adapter)) out.push(row);
  return out;
}

const idsOf = async (content: string, adapter: AnyAdapter = ctpayer) => (await rowsOf(content, adapter)).map((r) => (r.ok ? r.payment.paymentId : undefined));

describe('manifestRows', () => {
  it('yields every data row in file order, valid and rejected, with cents and fields', async () => {
    const content = 'payment_id,cardId,amount,description,groupId\nP1,1000000001,12.5,"Visit 1, stipend",G1\nP2,1000000002,-5,Visit 2,\n\nP3,1000000003,0.01,Visit 3,\n';
    expect(await rowsOf(content)).toEqual([
      { line: 2, ok: true, payment: { line: 2, paymentId: 'P1', amountCents: 1250, payee: '1000000001', fields: { cardId: '1000000001', description: 'Visit 1, stipend', groupId: 'G1' }, reimbursement: false } },
      {
        line: 3,
        ok: false,
        paymentId: 'P2',
        payee: '1000000002',
        problems: [{ line: 3, column: 'amount', message: '"-5" has a sign; amounts are positive numbers like 12.50' }],
      },
      { line: 5, ok: true, payment: { line: 5, paymentId: 'P3', amountCents: 1, payee: '1000000003', fields: { cardId: '1000000003', description: 'Visit 3' }, reimbursement: false } },
    ]);
  });

  it('gives VirtualRx rows their fields under the documented names and the customer as payee', async () => {
    const [row] = await rowsOf('custid,PROGRAMID,ClaimReferenceNumber,ClientGroupID,amount_cents\n20230226001,7311,CLM-1,1234,50000\n', virtualrx);
    expect(row).toEqual({
      line: 2,
      ok: true,
      payment: {
        line: 2,
        paymentId: expect.stringMatching(/^r-[0-9a-f]{30}$/),
        amountCents: 50000,
        payee: '20230226001',
        fields: { CustId: '20230226001', ProgramId: '7311', ClaimReferenceNumber: 'CLM-1', ClientGroupID: '1234' },
        reimbursement: false,
      },
    });
  });

  it('fails with the file problem when the file is no longer a valid manifest', async () => {
    await expect(rowsOf('cardId,amount\n1000000001,5.00\n')).rejects.toMatchObject({
      code: 'MANIFEST_INVALID',
      message: 'line 1: missing required column "description"',
    });
  });

  it('can be stopped early', async () => {
    const path = await write(`cardId,amount,description\n${'1000000001,5.00,Visit 1\n'.repeat(20_000)}`);
    let seen = 0;
    for await (const row of manifestRows(path, ctpayer)) {
      seen = row.line;
      if (seen === 10) break;
    }
    expect(seen).toBe(10);
  });
});

describe('derived payment ids', () => {
  it('are the same for the same payment written differently, in any file', async () => {
    const a = await idsOf('cardId,amount,description\n1000000001,12.50,Visit 1\n1000000002,5,Visit 2\n');
    const b = await idsOf('\uFEFFDescription,GROUPID,amount,CardId\r\nVisit 2,,5.00,1000000002\r\n  Visit 1 ,,12.5,1000000001\r\n');
    const c = await idsOf('payment_id,cardId,amount_cents,description\n,1000000001,1250,Visit 1\n');
    expect(a[0]).toMatch(/^r-[0-9a-f]{30}$/);
    expect(b).toEqual([a[1], a[0]]);
    expect(c).toEqual([a[0]]);
  });

  it('differ when anything paid differs', async () => {
    const ids = await idsOf(
      [
        'cardId,amount,description,groupId',
        '1000000001,12.50,Visit 1,',
        '1000000002,12.50,Visit 1,',
        '1000000001,12.51,Visit 1,',
        '1000000001,12.50,Visit 2,',
        '1000000001,12.50,Visit 1,G1',
        '1000000001,12.50,Visit 1 ,G1', // trimmed: the same as the row above
      ].join('\n'),
    );
    expect(new Set(ids.slice(0, 5)).size).toBe(5);
    expect(ids[5]).toBe(ids[4]);
  });

  it('depend on the provider', () => {
    const fields = { CustId: '1' };
    expect(derivePaymentId('ctpayer', fields, 100)).not.toBe(derivePaymentId('virtualrx', fields, 100));
    expect(derivePaymentId('virtualrx', { a: '1', b: '2' }, 100)).toBe(derivePaymentId('virtualrx', { b: '2', a: '1', c: undefined }, 100));
  });

  it('fit the payment id rule (CT Payer internalPaymentId: at most 40 characters)', async () => {
    const [id] = await idsOf('cardId,amount,description\n1000000001,12.50,Visit 1\n');
    expect(id).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
  });
});
