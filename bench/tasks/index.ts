import { bullmqAddBulk, enqueue } from './enqueue.js';
import { bullmqWorker, execute } from './execute.js';
import { rateFidelity } from './rate-fidelity.js';
import { report, reportBaseline } from './report.js';
import type { Task } from './task.js';
import { csvParse, validate } from './validate.js';

export const tasks: Record<string, Task> = {
  validate,
  'csv-parse': csvParse,
  enqueue,
  'bullmq-add-bulk': bullmqAddBulk,
  execute,
  'bullmq-worker': bullmqWorker,
  'rate-fidelity': rateFidelity,
  report,
  'report-baseline': reportBaseline,
};
