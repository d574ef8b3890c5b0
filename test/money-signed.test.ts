import { expect, it } from 'vitest';
import { formatDollars, formatUsd } from '../src/money.js';

/** Money given back (a reversal in an export, a period's reversed total) is written with a minus sign. */

it('writes negative cents as negative dollars', () => {
  expect([-47990, -1, -100, -123456].map(formatDollars)).toEqual(['-479.90', '-0.01', '-1.00', '-1234.56']);
  expect(() => formatDollars(-1.5)).toThrow(RangeError);
});

it('puts the sign before the dollar sign for people to read', () => {
  expect([47990, -47990, 0].map(formatUsd)).toEqual(['$479.90', '-$479.90', '$0.00']);
});
