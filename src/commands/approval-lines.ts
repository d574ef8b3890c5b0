import { describeActor } from '../audit/actor.js';
import type { BatchRecord } from '../ledger/batches.js';

/**
 * What a batch awaiting approval waits for, as `run` ends (exit 3): a person other than its
 * submitter, who is an operating-system user and host, so approving takes another login.
 */
export function awaitingApprovalLine(batch: BatchRecord): string {
  const submitter = batch.submitted_by === undefined ? 'its submitter' : describeActor(batch.submitted_by, batch.submitted_by_name);
  return `awaiting approval: nothing is paid until a person other than ${submitter}, logged in as another user, runs \`stipend approve ${batch.batch_id}\` (or \`stipend cancel ${batch.batch_id}\`)`;
}
