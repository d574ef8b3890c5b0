import type { StipendContext } from '../context.js';
import { type BatchRecord, isSettled } from '../ledger/batches.js';
import { ACTION_KINDS, type ActionKind, KIND_ADVICE, type RowNeedingAction, rowsNeedingAction } from '../batches/needs-action.js';
import { describeBatch } from './output.js';
import { plural, usd } from '../readable-numbers.js';
import { PROBLEM_COUNTS } from './problem-counts.js';

/**
 * `stipend status <batchId> --problems`: the rows that need action, grouped by kind (a person's
 * work first), each with its manifest line, who it pays, the provider's last word and what to do
 * next; rows not final yet as one line. `--json`: one object per row, in file order.
 */

/** `--problems --json`: a JSON array written an element at a time as pages are read, never held whole. */
export async function writeProblemsJson(context: StipendContext, batch: BatchRecord, write: (text: string) => void): Promise<void> {
  let first = true;
  write('[');
  for await (const rows of rowsNeedingAction(context, batch)) {
    for (const row of rows) {
      write(`${first ? '' : ','}\n  ${JSON.stringify(problemJson(row))}`);
      first = false;
    }
  }
  write(first ? ']\n' : '\n]\n');
}

/**
 * `--problems` for people. Rows are read page by page; those needing action are kept per kind
 * (grouping needs them all before the first heading), so memory grows with the problems, not with
 * the batch, and each line is written on its own.
 */
export async function writeProblemsText(context: StipendContext, batch: BatchRecord, write: (text: string) => void): Promise<void> {
  const groups = new Map<ActionKind, RowNeedingAction[]>(ACTION_KINDS.map((kind) => [kind, []]));
  for await (const rows of rowsNeedingAction(context, batch)) {
    for (const row of rows) groups.get(row.kind)!.push(row);
  }
  write(`batch ${batch.batch_id} (${batch.provider}/${batch.account}): ${describeBatch(batch)}\n`);
  let listed = 0;
  for (const [kind, rows] of groups) {
    if (rows.length === 0) continue;
    listed += rows.length;
    write(`\n${PROBLEM_COUNTS[kind](rows.length)}: ${KIND_ADVICE[kind].advice(batch.batch_id)}\n`);
    for (const row of rows) write(rowLines(batch.batch_id, row));
  }
  if (listed === 0) write(`no rows need action${isSettled(batch) ? '' : ' so far'}\n`);
  const pending = pendingLine(batch);
  if (pending !== undefined) write(`${listed === 0 ? '' : '\n'}${pending}\n`);
}

/** `  line 3: pr-2 (payee 2023…, participant P-2), $25.00, unknown; provider CODE: message`, then the row's own command. */
function rowLines(batchId: string, row: RowNeedingAction): string {
  if (row.problems !== undefined) {
    const id = row.paymentId ? ` (${row.paymentId})` : '';
    return row.problems.map((p) => `  line ${p.line}${p.column ? `, column ${p.column}` : ''}: ${oneLine(p.problem)}${id}\n`).join('');
  }
  const who = [`payee ${row.payee}`, ...(row.participantId ? [`participant ${row.participantId}`] : [])].join(', ');
  const said = [row.code, row.message].filter(Boolean).join(': ');
  const details = [
    `  line ${row.line}: ${row.paymentId} (${who})${row.cents === undefined ? '' : `, ${usd(row.cents)}`}, ${row.status}`,
    ...(said ? [`provider ${oneLine(said)}`] : []),
    ...(row.conflict ? [`conflict: ${row.conflict}`] : []),
  ].join('; ');
  const command = KIND_ADVICE[row.kind].command?.(batchId, row.paymentId);
  return `${details}\n${command ? `    ${command}\n` : ''}`;
}

/** Rows not final yet, as one line: how many and why they wait. Undefined once every row is final. */
function pendingLine(batch: BatchRecord): string | undefined {
  if (isSettled(batch)) return undefined;
  const pending = batch.accepted - batch.final;
  if (batch.state === 'awaiting_approval') {
    return `${plural(pending, 'payment awaits', 'payments await')} approval: nothing is paid until a person other than its submitter runs stipend approve ${batch.batch_id}`;
  }
  return `${plural(pending, 'payment is', 'payments are')} not final yet: the batch is still in progress (stipend status ${batch.batch_id} shows where it stands); run --problems again once it is complete`;
}

function problemJson(row: RowNeedingAction) {
  return {
    line: row.line,
    payment_id: row.paymentId || null,
    kind: row.kind,
    status: row.status,
    payee: row.payee || null,
    participant_id: row.participantId ?? null,
    amount_cents: row.cents ?? null,
    code: row.code ?? null,
    message: row.message ?? null,
    // Only a rejected row has them: each problem's column (empty for the whole row) and what is wrong.
    ...(row.problems === undefined ? {} : { problems: row.problems.map(({ column, problem }) => ({ column: column || null, problem })) }),
    conflict: row.conflict ?? null,
    action: row.action,
  };
}

// A provider's message may quote anything; one row stays one line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const oneLine = (text: string) => text.replace(CONTROL, ' ');
