import { z } from 'zod';
import { describeCardNumbers, findCardNumbers } from '../card-numbers.js';

/**
 * Building blocks for provider field schemas. Lengths count characters (Unicode code points), not
 * bytes, because the providers document "30 characters max, including spaces".
 */

// C0/C1 control characters and Unicode line/paragraph separators: never part of a payment field.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// A cell starting like this is run as a formula by spreadsheets that later open provider exports.
const FORMULA_START = /^[=+@]/;

// Code points, not UTF-16 units; a string without surrogate pairs (almost every one) has as many of
// each, and counting it costs nothing.
const SURROGATE = /[\uD800-\uDFFF]/;
export const charCount = (value: string): number => (SURROGATE.test(value) ? [...value].length : value.length);

export function required(schema: z.ZodType<string, string>) {
  return z.string({ error: 'is required and is empty' }).pipe(schema);
}

/** Free text sent to a provider: bounded length, printable, not a spreadsheet formula. */
export function text(options: { max: number; min?: number }) {
  const min = options.min ?? 1;
  return z
    .string()
    .refine((v) => !CONTROL.test(v), { error: 'contains a control character or line break (not allowed in payment fields)' })
    .refine((v) => !FORMULA_START.test(v), { error: 'starts with =, + or @ (looks like a spreadsheet formula)' })
    .refine((v) => charCount(v) >= min, { error: `must be at least ${min} character${min === 1 ? '' : 's'}` })
    .refine((v) => charCount(v) <= options.max, {
      error: (issue) => `must be at most ${options.max} characters (has ${charCount(String(issue.input))})`,
    });
}

/**
 * Text a person types that is recorded or sent (a reason): refused when it holds a card number,
 * even in passing ("card 4111 1111 1111 1111 lost"). Checked before `schema`, and the message shows
 * only the last four digits. Manifest cells are checked for card numbers before any field rule
 * (manifest/validate-row.ts), so field schemas need not be.
 */
export function withoutCardNumbers(schema: z.ZodType<string, string>) {
  return z
    .string()
    .refine((v) => findCardNumbers(v).length === 0, {
      abort: true,
      error: (issue) => `${describeCardNumbers(findCardNumbers(String(issue.input)))}; card numbers are never recorded or sent`,
    })
    .pipe(schema);
}

/** An identifier made of digits only, with an exact or bounded length. */
export function digits(options: { length: number } | { max: number }) {
  if ('length' in options) {
    return z.string().regex(new RegExp(`^\\d{${options.length}}$`), { error: `must be exactly ${options.length} digits` });
  }
  return z.string().regex(new RegExp(`^\\d{1,${options.max}}$`), { error: `must be 1 to ${options.max} digits` });
}
