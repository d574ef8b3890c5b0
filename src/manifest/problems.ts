/**
 * What the validator reports: one problem per broken rule, located by the physical line where the
 * record starts (1 = the header) and, for a cell, by the column's documented name.
 */
export interface Problem {
  line: number;
  column?: string;
  /** What is wrong and the rule it breaks, written for a finance user. */
  message: string;
}

// Line breaks and other control characters, which a message may quote from a cell.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * `line 7, column description: must be at most 30 characters (has 31)`. Always one line: a control
 * character quoted from a cell is shown escaped (\u000a), as the CLI prints one problem per line.
 */
export function formatProblem(p: Problem): string {
  const message = p.message.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `line ${p.line}${p.column === undefined ? '' : `, column ${p.column}`}: ${message}`;
}

export { quoted } from '../quote.js';
