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
