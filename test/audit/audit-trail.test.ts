import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { type AuditEntry } from '../../src/audit/audit-entry.js';
import { auditEntries } from '../../src/audit/audit-trail.js';
import { approveBatch } from '../../src/batches/approval.js';
import { cancelBatch } from '../../src/batches/cancel.js';
import { resolvePayment } from '../../src/batches/settle.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { writeFinanceExport } from '../../src/reports/finance-export.js';
import { reversePayments } from '../../src/reversals/reverse.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * The audit trail: every decision appended, in order, with who (identity and the name they gave),
 * when (Redis's clock) and from which host; read back by `stipend audit` and `export --with-audit`.
 */

let stack: TestStack;
let paid: string;
let canceled: string;
const HOST = hostname();
const ME = `${userInfo().username}@${HOST}`;
const today = new Date().toISOString().slice(0, 10);

const manifest = (rows: [string, string][]) => ['payment_id,cardId,amount,description', ...rows.map(([id, amount], i) => `${id},${1000000001 + i},${amount},Visit stipend`)].join('\n');
async function submit(name: string, rows: [string, string][]): Promise<string> {
  const result = await submitManifest(stack.context, { file: await stack.manifest(name, manifest(rows)), account: stack.account('ctpayer'), submittedBy: { identity: 'alice@maker-host', displayName: 'Alice' } });
  if (!result.accepted) throw new Error('refused');
  return result.batchId;
}
const compact = (entries: AuditEntry[]) => entries.map((e) => [e.event, e.identity, e.display_name, e.payment_id]);

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { approval: 'always' } });
  await stack.startWorkers();
  paid = await submit('paid.csv', [['au-1', '20.00'], ['au-2', '30.00']]);
  // A display name a spreadsheet would run as a formula: kept as typed, written formula-safe.
  await approveBatch(stack.context, paid, { identity: 'bob@checker-host', displayName: '=Bob' });
  await waitForBatch(stack.context, paid, { pollMs: 50 });
  await reversePayments(stack.context, { batchId: paid, paymentIds: ['au-1'], reason: 'Paid to the wrong participant' }, personHere('Dana'));

  canceled = await submit('canceled.csv', [['au-3', '40.00'], ['au-4', '50.00']]);
  // An answer lost before the batch was canceled (the ledger's own step), settled by a person.
  await stack.context.payments(stack.account('ctpayer')).finalize({ batchId: canceled, paymentId: 'au-3' }, { status: 'unknown', code: 'NO_RESPONSE', message: 'answer lost' });
  await resolvePayment(stack.context, { batchId: canceled, paymentId: 'au-3' }, { notPaid: true }, personHere('Dana'));
  await cancelBatch(stack.context, canceled, { identity: 'carol@checker-host' });
}, 60_000);
afterAll(() => stack?.close());

it('keeps submit, approve, reverse, resolve and cancel in the order they happened, with identity, name and host', async () => {
  const entries: AuditEntry[] = [];
  for await (const entry of auditEntries(stack.context)) entries.push(entry);
  expect(compact(entries)).toEqual([
    ['submitted', 'alice@maker-host', 'Alice', undefined],
    ['approved', 'bob@checker-host', '=Bob', undefined],
    ['reversed', ME, 'Dana', 'au-1'],
    ['submitted', 'alice@maker-host', 'Alice', undefined],
    ['resolved', ME, 'Dana', 'au-3'],
    ['canceled', 'carol@checker-host', undefined, undefined],
  ]);
  expect(entries.map((e) => e.batch_id)).toEqual([paid, paid, paid, canceled, canceled, canceled]);
  expect(new Set(entries.map((e) => e.host))).toEqual(new Set([HOST]));
  // Redis's clock, in order.
  const ids = entries.map((e) => e.id.split('-').map(Number) as [number, number]);
  for (let i = 1; i < ids.length; i += 1) expect(ids[i]![0] * 1e6 + ids[i]![1]).toBeGreaterThan(ids[i - 1]![0] * 1e6 + ids[i - 1]![1]);
  expect(Date.parse(entries[0]!.at)).toBeGreaterThan(Date.now() - 120_000);
  expect(entries[0]!.details).toBe('paid.csv: 2 rows; total $50.00; approval rule always: approval needed');
  expect(entries[4]!.details).toBe('not paid');
  expect(entries[2]!.details).toBe('reversal asked for: Paid to the wrong participant');
});

it('stipend audit --json: one batch\'s entries; a period; a batch that does not exist in one line', async () => {
  const json = await stipend(['--config', stack.configFile, 'audit', '--batch', canceled, '--json']);
  expect(json.code, json.stderr).toBe(0);
  const rows = JSON.parse(json.stdout) as Record<string, string | null>[];
  expect(rows.map((r) => [r.event, r.identity, r.display_name, r.host, r.batch_id, r.payment_id])).toEqual([
    ['submitted', 'alice@maker-host', 'Alice', HOST, canceled, null],
    ['resolved', ME, 'Dana', HOST, canceled, 'au-3'],
    ['canceled', 'carol@checker-host', null, HOST, canceled, null],
  ]);
  expect(Object.keys(rows[0]!)).toEqual(['at', 'event', 'identity', 'display_name', 'host', 'batch_id', 'payment_id', 'details', 'id']);

  const text = await stipend(['--config', stack.configFile, 'audit', '--from', today, '--to', today]);
  expect(text.code, text.stderr).toBe(0);
  const lines = text.stdout.trim().split('\n');
  expect(lines).toHaveLength(6);
  expect(lines[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z approved batch ${paid} by =Bob \\(bob@checker-host\\) on ${HOST}$`));
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  expect((await stipend(['--config', stack.configFile, 'audit', '--from', tomorrow])).stdout).toBe('no decisions recorded for that\n');
  expect(await stipend(['--config', stack.configFile, 'audit', '--batch', 'no-such-batch'])).toMatchObject({ code: 2, stderr: 'stipend: no batch no-such-batch is recorded\n' });
}, 120_000);

it('export --with-audit writes the period\'s entries beside the payments, formula-safe', async () => {
  const out = join(stack.dir, 'exports', 'period.csv');
  const result = await writeFinanceExport(stack.context, { from: today, to: today, out, withAudit: true });
  expect(result.audit).toEqual({ file: join(stack.dir, 'exports', 'period.audit.csv'), entries: 6 });
  const rows = parseReport(await readFile(result.audit!.file, 'utf8'));
  expect(rows.map((r) => r.event)).toEqual(['submitted', 'approved', 'reversed', 'submitted', 'resolved', 'canceled']);
  expect(rows[1]).toMatchObject({ identity: 'bob@checker-host', display_name: "'=Bob", host: HOST, batch_id: paid, payment_id: '' });

  // The command says where it went; a period before the trail has a header alone.
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const cli = await stipend(['--config', stack.configFile, 'export', '--from', yesterday, '--to', yesterday, '--out', join(stack.dir, 'exports', 'before.csv'), '--with-audit']);
  expect(cli.code, cli.stderr).toBe(0);
  expect(cli.stdout).toContain(`audit: ${join(stack.dir, 'exports', 'before.audit.csv')} (0 decisions)\n`);
  expect(await readFile(join(stack.dir, 'exports', 'before.audit.csv'), 'utf8')).toBe('at,event,identity,display_name,host,batch_id,payment_id,details,id\n');
}, 120_000);
