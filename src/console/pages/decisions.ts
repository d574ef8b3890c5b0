import express from 'express';
import { rewriteReport } from '../../batches/report.js';
import type { StipendContext } from '../../context.js';
import type { BatchRecord } from '../../ledger/batches.js';
import type { ConsoleDeps } from '../deps.js';

/** What the decision pages (approvals.ts, needs-a-person.ts, reverse.ts) share. */

/** The decision forms' bodies (approve, cancel, resolve, reverse): small, urlencoded. */
export const decisionForm = express.urlencoded({ extended: false, limit: '16kb' });

/**
 * After a decision changed a batch: its report is rewritten where it was last written, as the
 * commands do, so the file finance has shows the change. The decision is recorded already; a report
 * that cannot be written is logged, never turned into a failure (the batch page writes it on request).
 */
export async function rewriteAfterDecision(deps: ConsoleDeps, batchId: string): Promise<void> {
  const note = await rewriteReport(deps.context, batchId);
  if (note.stderr) deps.log.warn({ batchId }, note.stderr.trim());
}

/** A query value as one string (Express gives arrays and objects for crafted queries), or ''. */
export function queryValue(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

// Batch records are read this many at a time (one pipelined round trip each): only the ids and the
// batches kept stay in memory, however many batches the ledger holds.
const BATCHES_PER_READ = 500;

/** Every recorded batch that `wanted` keeps, oldest first, read a chunk at a time. */
export async function batchesWhere(context: StipendContext, wanted: (batch: BatchRecord) => boolean): Promise<BatchRecord[]> {
  const ids = await context.batches.batchIds();
  const kept: BatchRecord[] = [];
  for (let at = 0; at < ids.length; at += BATCHES_PER_READ) {
    for (const batch of await context.batches.getMany(ids.slice(at, at + BATCHES_PER_READ))) {
      if (batch !== undefined && wanted(batch)) kept.push(batch);
    }
  }
  return kept;
}
