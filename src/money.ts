import { quoted } from './quote.js';

/**
 * Money is an integer number of cents everywhere inside the program. This module is the only place
 * where text becomes cents and cents become text, and none of it touches floating point.
 */

const CENTS = /^\d{1,11}$/;

/** Largest amount accepted on one row: $9,999,999.99, far above any stipend, well inside 2^53. */
export const MAX_CENTS = 999_999_999;

export type ParsedAmount = { ok: true; cents: number } | { ok: false; reason: string };

/** "12.50" → 1250, "12.5" → 1250, "12" → 1200. Rejects signs, exponents, separators, 3+ decimals. */
export function parseDollars(text: string): ParsedAmount {
  const cents = parseBalanceDollars(text);
  return cents === undefined ? { ok: false, reason: describeBadDollars(text) } : checkRange(cents);
}

/** "1250" → 1250. A whole, positive number of cents. */
export function parseCents(text: string): ParsedAmount {
  if (!CENTS.test(text)) {
    return { ok: false, reason: `${quoted(text)} is not a whole number of cents (digits only, e.g. 1250)` };
  }
  return checkRange(Number(text));
}

/** 1250 → "12.50"; -1250 → "-12.50" (money given back: a reversal, a period's reversed total). */
export function formatDollars(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`not a cent amount: ${cents}`);
  const size = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(size / 100)}.${String(size % 100).padStart(2, '0')}`;
}

/** 1250 → "$12.50"; -1250 → "-$12.50": an amount in a line for people, sign first as they write it. */
export function formatUsd(cents: number): string {
  const dollars = formatDollars(cents);
  return cents < 0 ? `-$${dollars.slice(1)}` : `$${dollars}`;
}

function checkRange(cents: number): ParsedAmount {
  if (cents <= 0) return { ok: false, reason: 'must be more than zero' };
  if (cents > MAX_CENTS) return { ok: false, reason: `must be at most ${formatDollars(MAX_CENTS)}` };
  return { ok: true, cents };
}

function describeBadDollars(text: string): string {
  const shown = quoted(text);
  if (text.trim() === '') return 'is empty';
  if (/^[+-]/.test(text)) return `${shown} has a sign; amounts are positive numbers like 12.50`;
  if (/^\d*\.?\d+[eE][+-]?\d+$/.test(text)) return `${shown} uses exponent notation; write the amount out, like 1000.00`;
  if (/,/.test(text)) return `${shown} has a thousands separator or comma; write 1000.00, not 1,000.00`;
  if (/^\d+\.\d{3,}$/.test(text)) return `${shown} has more than two decimals`;
  if (/[$€£]/.test(text)) return `${shown} has a currency symbol; write the number only`;
  return `${shown} is not an amount in dollars with at most two decimals (e.g. 12.50)`;
}

/** A balance a provider reports, "1234.50" → 123450. Zero is a valid balance; anything else odd is not. */
export function parseBalanceDollars(text: string): number | undefined {
  // Digit by digit rather than a regular expression and Number(): every row's amount passes here.
  let cents = 0;
  let wholeDigits = 0;
  let i = 0;
  for (; i < text.length && text.charCodeAt(i) !== 46; i += 1) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9 || ++wholeDigits > 9) return undefined;
    cents = cents * 10 + digit;
  }
  if (wholeDigits === 0) return undefined;
  cents *= 100;
  if (i === text.length) return cents;
  // A point must have one or two digits after it: "12." and "12.345" are not amounts.
  const decimals = text.length - i - 1;
  if (decimals < 1 || decimals > 2) return undefined;
  for (let place = 0; place < decimals; place += 1) {
    const digit = text.charCodeAt(i + 1 + place) - 48;
    if (digit < 0 || digit > 9) return undefined;
    cents += digit * (place === 0 ? 10 : 1);
  }
  return cents;
}
