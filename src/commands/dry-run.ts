import { type DryRunResult, dryRunManifest } from '../batches/dry-run.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { formatDuration } from './duration.js';
import { EXIT } from './exit-codes.js';
import { describeScan, printProblems } from './output.js';
import { count, plural, usd } from '../readable-numbers.js';
import { withProgressLines } from './progress-lines.js';
import { printRejectedRows } from './rejected-lines.js';

/**
 * `stipend run --dry-run`: what run would do with the manifest, told without doing it (batches/dry-run.ts).
 * Exit code 0 when run would accept it, also when it would then wait for an approval (said in a
 * line); 1 when run would reject it, with the same lines as run.
 */
export async function dryRunCommand(
  context: StipendContext,
  file: string,
  account: Account,
  options: { allowPartial?: boolean; allowOtherAccount?: boolean },
): Promise<number> {
  const result = await withProgressLines((onProgress) => dryRunManifest(context, { file, account, ...options, onProgress }));
  const write = (line: string) => void process.stdout.write(`${line}\n`);
  if (!result.accepted) {
    printProblems(result.scan, write);
    write(`rejected: ${result.refusal ?? describeScan(result.scan)}; nothing was queued`);
    return EXIT.rejected;
  }
  const sent = result.funding.balanceCents === undefined ? 'nothing was sent to the provider' : 'nothing was sent to the provider but a read of the funding balance';
  write(`dry run for ${account.provider}/${account.name}: nothing was queued or recorded, ${sent}`);
  write(`manifest: ${describeScan(result.scan)}`);
  if (result.scan.rejectedRows > 0) {
    write(`${plural(result.scan.rejectedRows, 'row')} would be left out (--allow-partial):`);
    printRejectedRows(result.scan, write);
  }
  for (const line of dryRunLines(result, account)) write(line);
  write('run would accept it');
  return EXIT.ok;
}

function dryRunLines(result: Extract<DryRunResult, { accepted: true }>, account: Account): string[] {
  const { earlier, held, funding, approval, toPay } = result;
  const lines = [];
  if (earlier === undefined) lines.push('this file: not submitted through this account before');
  else if (earlier.state === 'enqueuing') lines.push(`this file: its batch ${earlier.batch_id}'s enqueue was cut short (${earlier.created_at}); run would finish that batch rather than make a new one`);
  else lines.push(`this file: already submitted as batch ${earlier.batch_id} (${earlier.source}, ${earlier.created_at}, ${earlier.state.replace('_', ' ')}); run would make a new batch, which pays only the payments no batch holds`);
  if (result.busy) lines.push('this file is being queued by another submitter right now: run would be refused until that is done');
  lines.push(held.rows === 0
    ? 'duplicates: no payment of it is held by an earlier batch'
    : `duplicates: ${plural(held.rows, 'payment')} (${usd(held.cents)}) already held by earlier batches (first: ${held.first!.paymentId} in batch ${held.first!.batchId}); run would skip them, not pay them again`);
  if (earlier?.state === 'enqueuing') lines.push(`funding balance: checked when batch ${earlier.batch_id} was made; run does not check it again`);
  else if (funding.balanceCents === undefined) lines.push(`funding balance: ${account.adapter.name} does not tell it; not checked`);
  else lines.push(`funding balance: ${usd(funding.balanceCents)}, enough for ${usd(result.scan.validCents)}`);
  lines.push(approval === undefined
    ? 'approval: not needed'
    : `approval: needed (${approval}); run would hold the batch until someone other than its submitter runs stipend approve (exit code ${EXIT.awaitingApproval})`);
  const rate = `${account.provider}/${account.name}'s rate limit of ${count(account.rateLimit.max)} per ${formatDuration(account.rateLimit.perMs)}`;
  lines.push(toPay.payments === 0
    ? 'would pay: nothing'
    : `would pay: ${plural(toPay.payments, 'payment')}, ${usd(toPay.cents)} in all, in about ${roundedUp(toPay.ms)} at ${rate}`);
  return lines;
}

/** A duration for people, rounded up: whole seconds, whole minutes from 2 minutes, whole hours from 2 hours. */
function roundedUp(ms: number): string {
  const unit = ms < 120_000 ? 1000 : ms < 7_200_000 ? 60_000 : 3_600_000;
  return formatDuration(Math.max(unit, Math.ceil(ms / unit) * unit));
}
