import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { scanManifest } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import type { Task } from './task.js';

/** The project: the full pass 1 of a manifest (streamed parse, every rule, duplicates, SHA-256). */
export const validate: Task = async (args, start) => {
  start();
  const scan = await scanManifest(String(args.file), ctpayer as never);
  if (scan.validRows !== Number(args.rows)) throw new Error(`expected ${String(args.rows)} valid rows, got ${scan.validRows}: ${JSON.stringify(scan.fileProblems.slice(0, 3))}`);
  return { items: scan.dataRows };
};

/** The baseline: bare csv-parse streaming the same file, records counted. */
export const csvParse: Task = async (args, start) => {
  start();
  let records = 0;
  for await (const _record of createReadStream(String(args.file)).pipe(parse())) records += 1;
  return { items: records - 1 };
};
