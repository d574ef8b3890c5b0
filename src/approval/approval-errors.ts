import { StipendError } from '../errors.js';

/**
 * An approval that maker-checker does not accept: the approver is the batch's submitter, or a
 * service (the watcher, a schedule, a worker), which never approves. Nothing changed. CLI exit 2.
 */
export class ApprovalRefusedError extends StipendError {
  constructor(message: string) {
    super('APPROVAL_REFUSED', message);
  }
}
