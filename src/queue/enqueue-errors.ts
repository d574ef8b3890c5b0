import { StipendError } from '../errors.js';

/** Another process is queuing (or abandoning) this file right now: nothing was done. */
export class EnqueueBusyError extends StipendError {
  constructor(message: string) {
    super('ENQUEUE_BUSY', message);
  }
}

/**
 * Another enqueue of the same batch recorded rows this one expected to record (this one's lock had
 * expired and was taken over): this one stopped without recording them; the other finishes the batch.
 */
export class EnqueueOvertakenError extends StipendError {
  constructor(batchId: string, found: { state: string; enqueuedLine: number }) {
    super('ENQUEUE_OVERTAKEN', `batch ${batchId} was taken over by another enqueue (it is ${found.state}, queued up to line ${found.enqueuedLine}); this one stopped without recording a row twice`);
  }
}

/**
 * The manifest (by SHA-256), or one of its payments, was already submitted through another account
 * of the provider, and the operator did not allow that for this run: nothing was queued or changed.
 */
export class OtherAccountDuplicateError extends StipendError {
  constructor(
    message: string,
    readonly account: string,
    readonly batchId: string,
  ) {
    super('OTHER_ACCOUNT_DUPLICATE', message);
  }
}
