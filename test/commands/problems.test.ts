import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/workers.js';
import { personHere } from '../../src/audit/actor.js';
import { submitManifest } from '../../src/batches/submit.js';
import { statusCommand } from '../../src/commands/batch.js';
import { EXIT } from '../../src/commands/exit-codes.js';
import { retryCommand } from '../../src/commands/settle.js';
import { ReversalLedger } from '../../src/ledger/reversals.js';
import { printed } from '../helpers/printed.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Issue 12 items 10 and 11: `run` and `retry` exit 0, 5 or 6 as a settled batch asks nothing, asks
 * for `stipend retry`, or asks for a person, and end with a line saying so; `status --problems`
 * lists the rows needing action with what to do next. Faults are the VirtualRx sandbox's own,
 * matched per customer: a retry-later answer every time (failed) and an answer lost after the
 * payment applied (unknown: VirtualRx can be neither asked nor safely resent).
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['virtualrx'] });
});
afterAll(() => stack?.close());

const HEADER = 'payment_id,participant_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents';
const FAILS = '20230226003';
const LOST = '20230226004';
/** A customer the seed keeps suspended: the provider declines payments to it. */
const SUSPENDED = '20230226021';

/** `stipend run` in its own process, as a scheduler starts it, with a worker of its own. */
async function run(name: string, rows: string[], ...flags: string[]) {
  const file = await stack.manifest(name, [HEADER, ...rows].join('\n'));
  const result = await stipend(['--config', stack.configFile, 'run', file, '--provider', 'virtualrx', '--with-worker', '--out', join(stack.dir, 'out'), ...flags]);
  expect(result.stderr).toBe('');
  return { ...result, batchId: /^batch (\S+):/m.exec(result.stdout)![1]!, lastLines: result.stdout.trimEnd().split('\n').slice(-2) };
}

const status = (batchId: string, options: { json?: boolean } = {}) => printed(() => statusCommand(batchId, { problems: true, ...options, config: stack.configFile }));

it('run exits 0 when every row is paid or declined, and ends with the report', async () => {
  const result = await run('all-final.csv', ['ok-1,P-1,20230226001,7311,CLM-OK-1,G1,1200', `ok-2,P-2,${SUSPENDED},7311,CLM-OK-2,G1,1300`]);
  expect(result.code).toBe(EXIT.ok);
  expect(result.lastLines[0]).toMatch(/^done: 1 paid \(\$12\.00\), 1 declined \(\$13\.00\)$/);
  expect(result.lastLines[1]).toMatch(/^report: .*reconciliation\.csv$/);
});

it('run exits 5 when rows failed with nothing applied, and says where they are listed', async () => {
  stack.sandboxes.virtualrx!.setFaults([{ kind: 'retryable', match: { CustId: FAILS } }]);
  const result = await run('some-failed.csv', ['sf-1,P-1,20230226002,7311,CLM-SF-1,G1,1200', `sf-2,P-3,${FAILS},7311,CLM-SF-2,G1,1300`]);
  expect(result.code).toBe(EXIT.someFailed);
  expect(result.lastLines).toEqual([expect.stringMatching(/^report: /), `1 payment failed: see stipend status ${result.batchId} --problems`]);
});

describe('a batch with every kind of problem', () => {
  let batchId: string;

  it('run exits 6 when a row needs a person, whatever else failed', async () => {
    stack.sandboxes.virtualrx!.setFaults([{ kind: 'retryable', match: { CustId: FAILS } }, { kind: 'drop-after', match: { CustId: LOST } }]);
    const result = await run('needs-person.csv', [
      'np-1,P-1,20230226005,7311,CLM-NP-1,G1,1200',
      `np-2,P-2,${FAILS},7311,CLM-NP-2,G1,2500`,
      `np-3,P-3,${LOST},7311,CLM-NP-3,G1,3000`,
      `np-4,P-4,${SUSPENDED},7311,CLM-NP-4,G1,125000`,
      // Rejected, never queued: no ClaimReferenceNumber, and an amount with a currency symbol.
      'np-5,P-5,20230226006,7311,,G1,$12.00',
    ], '--allow-partial');
    batchId = result.batchId;
    expect(result.code).toBe(EXIT.needsPerson);
    expect(result.lastLines[1]).toBe(`1 payment needs a person (unknown), 1 payment failed: see stipend status ${batchId} --problems`);
  });

  it('status --problems lists each problem row under its kind with what to do next, paid rows left out', async () => {
    const { code, stdout } = await status(batchId);
    expect(code).toBe(0);
    expect(stdout).not.toContain('np-1');
    const headings = stdout.split('\n').filter((line) => /^\S/.test(line)).slice(1);
    expect(headings).toEqual([
      expect.stringMatching(/^1 payment needs a person \(unknown\): the answer was lost .*check with the provider/),
      `1 payment failed: nothing was applied: stipend retry ${batchId} sends the batch's failed payments again`,
      expect.stringMatching(/^1 payment was declined: the provider declined it .*submit a new manifest$/),
      expect.stringMatching(/^1 row was rejected: it failed validation and was never queued/),
    ]);
    expect(stdout).toMatch(/^ {2}line 4: np-3 \(payee 20230226004, participant P-3\), \$30\.00, unknown; provider NO_RESPONSE: /m);
    expect(stdout).toContain(`\n    stipend resolve ${batchId} np-3 --paid <reference> | --not-paid --by <name>\n`);
    expect(stdout).toMatch(/^ {2}line 3: np-2 \(payee 20230226003, participant P-2\), \$25\.00, failed; provider \S+: /m);
    expect(stdout).toMatch(/^ {2}line 5: np-4 \(payee 20230226021, participant P-4\), \$1,250\.00, declined; provider 70025: VRX Reload - DECLINED/m);
    expect(stdout).toMatch(/^ {2}line 6, column ClaimReferenceNumber: is required and is empty \(np-5\)$/m);
    expect(stdout).toMatch(/^ {2}line 6, column amount_cents: "\$12\.00" is not a whole number of cents.* \(np-5\)$/m);
  });

  it('status --problems --json is one object per problem row, in file order', async () => {
    const rows = JSON.parse((await status(batchId, { json: true })).stdout) as Record<string, unknown>[];
    expect(rows.map((r) => [r.line, r.payment_id, r.kind, r.status])).toEqual([
      [3, 'np-2', 'failed', 'failed'],
      [4, 'np-3', 'unknown', 'unknown'],
      [5, 'np-4', 'declined', 'declined'],
      [6, 'np-5', 'rejected', 'rejected'],
    ]);
    expect(rows[1]).toEqual({
      line: 4, payment_id: 'np-3', kind: 'unknown', status: 'unknown', payee: LOST, participant_id: 'P-3', amount_cents: 3000,
      code: expect.any(String), message: expect.any(String), conflict: null,
      action: `the answer was lost and the money may have moved: check with the provider, then record what happened: stipend resolve ${batchId} np-3 --paid <reference> | --not-paid --by <name>`,
    });
    expect(rows[3]).toMatchObject({
      line: 6, payment_id: 'np-5', kind: 'rejected', amount_cents: null, message: null,
      problems: [{ column: 'ClaimReferenceNumber', problem: 'is required and is empty' }, { column: 'amount_cents', problem: expect.stringContaining('"$12.00"') }],
    });
    expect(rows[0]!.action).toBe(`nothing was applied: stipend retry ${batchId} sends the batch's failed payments again`);
  });

  it('retry pays the failed row and still exits 6 while a row waits for a person', async () => {
    stack.sandboxes.virtualrx!.setFaults([]);
    const { code, stdout } = await printed(() => retryCommand(batchId, { withWorker: true, config: stack.configFile }, { startWorkers }));
    expect(code).toBe(EXIT.needsPerson);
    expect(stdout.trimEnd().split('\n').slice(-3)).toEqual([
      'done: 2 paid ($37.00), 1 declined ($1,250.00), 1 unknown ($30.00), 1 rejected',
      expect.stringMatching(/^report: /),
      `1 payment needs a person (unknown): see stipend status ${batchId} --problems`,
    ]);
  });

  it('lists a reversal in doubt and a conflicting paid answer with what to do about each', async () => {
    const account = stack.account('virtualrx');
    const reversals = new ReversalLedger(stack.context.redis, stack.context.keys, account.provider, account.name);
    // np-1's reversal left and its answer was lost; np-2 got a second paid answer naming another payment.
    const claim = await reversals.claim({ batchId, paymentId: 'np-1' }, 'Paid to the wrong participant', personHere('alice'));
    expect(claim).toEqual({ epoch: expect.any(Number) });
    await reversals.settle({ batchId, paymentId: 'np-1' }, { to: 'reversal_unknown', code: 'NETWORK', message: 'the connection closed before an answer' }, (claim as { epoch: number }).epoch);
    expect(await stack.context.payments(account).finalize({ batchId, paymentId: 'np-2' }, { status: 'paid', reference: 'VRX-OTHER', code: '0', message: 'Payment accepted' })).toBe('conflict');

    const rows = JSON.parse((await status(batchId, { json: true })).stdout) as Record<string, unknown>[];
    expect(rows.slice(0, 2)).toEqual([
      expect.objectContaining({
        payment_id: 'np-1', kind: 'reversal_unknown', status: 'reversal_unknown', code: 'NETWORK', message: 'the connection closed before an answer',
        action: expect.stringMatching(new RegExp(`: stipend resolve ${batchId} np-1 --reversed <reference> \\| --not-reversed --by <name>$`)),
      }),
      expect.objectContaining({ payment_id: 'np-2', kind: 'conflict', status: 'paid', conflict: 'SECOND_PAID (reference VRX-OTHER)', action: expect.stringContaining('check with the provider') }),
    ]);
    const { stdout } = await status(batchId);
    expect(stdout).toContain('\n1 reversal needs a person (reversal_unknown): ');
    expect(stdout).toContain('\n1 payment has a conflicting paid answer: ');
    expect(stdout).toMatch(/^ {2}line 3: np-2 .*, paid; provider 0: StatusOK; conflict: SECOND_PAID \(reference VRX-OTHER\)$/m);
  });
});

it('status --problems on a batch still paying says how many rows are not final, not each of them', async () => {
  // No worker serves this batch while it is looked at.
  const file = await stack.manifest('pending.csv', [HEADER, 'pe-1,P-1,20230226007,7311,CLM-PE-1,G1,1200', 'pe-2,P-2,20230226008,7311,CLM-PE-2,G1,1300'].join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account('virtualrx') });
  if (!submitted.accepted) throw new Error('manifest refused');
  const { stdout } = await status(submitted.batchId);
  expect(stdout.split('\n').slice(1)).toEqual([
    'no rows need action so far',
    `2 payments are not final yet: the batch is still in progress (stipend status ${submitted.batchId} shows where it stands); run --problems again once it is complete`,
    '',
  ]);
  expect((await status(submitted.batchId, { json: true })).stdout).toBe('[]\n');
});
