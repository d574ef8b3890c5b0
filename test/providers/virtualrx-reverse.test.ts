import { describe, expect, it } from 'vitest';
import { virtualrx, type VirtualRxClient, type VirtualRxFields } from '../../src/providers/virtualrx.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { sandboxPerFile } from '../helpers/client-context.js';

/** VirtualRx reversals (VoidPayment with the Payment's fields) on the wire against the sandbox. */

const CUSTOMER = '20230226001';
const FIELDS: VirtualRxFields = { CustId: CUSTOMER, ProgramId: '7311', ClaimReferenceNumber: 'CLM-1', ClientGroupID: 'GRP-1', ReasonDescription: 'Visit 1' };

let sandbox: RunningSandbox;
let client: VirtualRxClient;
const contexts = sandboxPerFile('virtualrx', (started) => {
  sandbox = started;
  client = clientWith('sandbox-token');
});

function clientWith(token: string) {
  return virtualrx.createClient(contexts.context(sandbox.url, { token }));
}

const pay = (fields: Partial<VirtualRxFields> = {}) => client.pay({ paymentId: 'p', idempotencyKey: 'p', amountCents: 1250, fields: { ...FIELDS, ...fields } });
const reverse = (fields: Partial<VirtualRxFields> = {}, by = client) =>
  by.reverse({ paymentId: 'p', amountCents: 1250, fields: { ...FIELDS, ...fields }, paymentReference: 'ref', reason: 'Duplicate visit' });
const balance = (custId: string) => (sandbox.state() as { customers: { CustId: string; balanceCents: number }[] }).customers.find((c) => c.CustId === custId)!.balanceCents;
const VOIDS = { paths: ['/jsonapi.php'], match: { ServiceName: 'VoidPayment' } };

it('reversed: the customer balance goes back by exactly the amount, the reason as ReasonDescription', async () => {
  await pay();
  const outcome = await reverse();
  const unload = sandbox.transactions()[1]!;
  expect(outcome).toEqual({ kind: 'reversed', reference: unload.id, code: '0', message: 'StatusOK' });
  expect(unload).toMatchObject({ kind: 'unload', payee: CUSTOMER, amountCents: 1250, key: 'CLM-1', description: 'Duplicate visit' });
  expect(balance(CUSTOMER)).toBe(0);
});

describe('refused (nothing moved)', () => {
  it('70038 for a second void of the same Payment, and for a Payment that does not exist', async () => {
    await pay();
    expect((await reverse()).kind).toBe('reversed');
    expect(await reverse()).toEqual({ kind: 'refused', code: '70038', message: expect.stringContaining('VRX Unload - DECLINED') });
    expect(await reverse({ ClaimReferenceNumber: 'CLM-9' })).toMatchObject({ kind: 'refused', code: '70038' });
    expect(sandbox.transactions().map((t) => t.kind)).toEqual(['load', 'unload']);
  });

  it('70025 for a suspended customer', async () => {
    expect(await reverse({ CustId: '20230226021' })).toMatchObject({ kind: 'refused', code: '70025' });
  });
});

describe('retryable (nothing moved)', () => {
  it('80000 (VirtualRx\'s retry later) is retryable, not throttled', async () => {
    await pay();
    sandbox.setFaults([{ kind: 'retryable', ...VOIDS }]);
    expect(await reverse()).toEqual({ kind: 'retryable', code: '80000', message: expect.any(String), throttled: false });
    expect(balance(CUSTOMER)).toBe(1250);
  });

  it('a rejected token (HTTP 401) is retryable', async () => {
    expect(await reverse({}, clientWith('wrong-token'))).toMatchObject({ kind: 'retryable', code: 'HTTP_401', throttled: false });
  });
});

describe('unknown (may have moved): VoidPayment is not idempotent, so this is never resent by the program', () => {
  it.each([
    ['server-error', 'HTTP_500', 1250],
    ['drop-after', 'NO_RESPONSE', 0],
    ['garbage', 'HTTP_200_UNREADABLE', 1250],
  ] as const)('%s → %s', async (kind, code, balanceAfter) => {
    await pay();
    sandbox.setFaults([{ kind, ...VOIDS }]);
    expect(await reverse()).toEqual({ kind: 'unknown', code, message: expect.stringContaining('the reversal may have been applied') });
    expect(balance(CUSTOMER)).toBe(balanceAfter);
  });
});

it('a StatusCode VirtualRx never documented makes a void unknown, never refused: it may have been applied', async () => {
  await pay();
  sandbox.setFaults([{ kind: 'code', code: '70099', applied: true, ...VOIDS, times: 1 }]);
  expect(await reverse()).toEqual({ kind: 'unknown', code: '70099', message: expect.stringContaining('the reversal may have been applied') });
  expect(balance(CUSTOMER)).toBe(0);
});
