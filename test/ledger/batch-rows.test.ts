import { afterAll, expect, it } from 'vitest';
import { type BatchRow, BatchRows, encodeBatchRow } from '../../src/ledger/batch-rows.js';
import { testRedis } from '../helpers/redis.js';

const { redis, keys, archive, cleanup } = testRedis();
afterAll(cleanup);
// Rows of batches of ctpayer/main: the tests write them as the ledger would.
const rows = new BatchRows(redis, keys, { ownerOf: async () => ({ provider: 'ctpayer', account: 'main' }) }, archive);

async function read(batchId: string): Promise<BatchRow[]> {
  const all: BatchRow[] = [];
  for await (const page of rows.pages(batchId)) all.push(...page);
  return all;
}

// The bytes stored rows already have: a batch can have a million, so neither their keys nor their order may change.
const stored: [BatchRow, string][] = [
  [{ kind: 'payment', line: 2, paymentId: 'p1' }, '{"s":"payment","l":2,"p":"p1"}'],
  [
    { kind: 'duplicate', line: 3, paymentId: 'p2', payee: '1000000001', amountCents: 1250, holderBatchId: 'b0' },
    '{"s":"duplicate","l":3,"p":"p2","y":"1000000001","a":1250,"h":"b0"}',
  ],
  [
    { kind: 'rejected', line: 4, message: 'line 4: ragged; line 4, column amount: bad', problems: [{ message: 'ragged' }, { column: 'amount', message: 'bad' }], paymentId: 'p3', payee: '1000000002', amountCents: 500 },
    '{"s":"rejected","l":4,"m":"line 4: ragged; line 4, column amount: bad","q":[{"m":"ragged"},{"c":"amount","m":"bad"}],"p":"p3","y":"1000000002","a":500}',
  ],
  [{ kind: 'rejected', line: 5, message: 'line 5, column payment_id: is required and is empty', problems: [{ column: 'payment_id', message: 'is required and is empty' }] }, '{"s":"rejected","l":5,"m":"line 5, column payment_id: is required and is empty","q":[{"c":"payment_id","m":"is required and is empty"}]}'],
];

it('stores each kind of row in its short form and reads it back by name', async () => {
  expect(stored.map(([row]) => encodeBatchRow(row))).toEqual(stored.map(([, bytes]) => bytes));
  await redis.rpush(keys.batchRows('ctpayer', 'main', 'b1'), ...stored.map(([, bytes]) => bytes));
  expect(await read('b1')).toEqual(stored.map(([row]) => row));
});

it('reads a rejected row recorded before problems were kept one by one: its message only', async () => {
  await redis.rpush(keys.batchRows('ctpayer', 'main', 'b2'), '{"s":"rejected","l":9,"m":"line 9: ragged"}');
  expect(await read('b2')).toEqual([{ kind: 'rejected', line: 9, message: 'line 9: ragged' }]);
});
