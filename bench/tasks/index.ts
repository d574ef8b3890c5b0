import type { Task } from './task.js';
import { csvParse, validate } from './validate.js';

export const tasks: Record<string, Task> = {
  validate,
  'csv-parse': csvParse,
};
