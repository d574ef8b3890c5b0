import { expect, it } from 'vitest';
import { formatDollars, parseBalanceDollars, parseCents, parseDollars } from '../src/money.js';

it('turns dollars into cents without floating point', () => {
  expect(parseDollars('12.50')).toEqual({ ok: true, cents: 1250 });
  expect(parseDollars('0.07')).toEqual({ ok: true, cents: 7 });
  // 0.1 + 0.2 style traps: each of these is exact.
  expect(parseDollars('1.10')).toEqual({ ok: true, cents: 110 });
  expect(parseDollars('9999999.99')).toEqual({ ok: true, cents: 999_999_999 });
  expect(parseCents('1250')).toEqual({ ok: true, cents: 1250 });
});

it('says what is wrong with an amount it refuses', () => {
  const reason = (text: string) => (parseDollars(text) as { reason: string }).reason;
  expect(reason('1e3')).toMatch(/exponent/);
  expect(reason('twelve')).toBe('"twelve" is not an amount in dollars with at most two decimals (e.g. 12.50)');
  expect(reason('$5')).toMatch(/currency symbol/);
  expect(reason('10000000.00')).toMatch(/at most 9999999\.99/);
  expect((parseCents('12.50') as { reason: string }).reason).toMatch(/whole number of cents/);
});

it('writes cents as dollars and reads balances, zero included', () => {
  expect([0, 1, 10, 99, 100, 123456].map(formatDollars)).toEqual(['0.00', '0.01', '0.10', '0.99', '1.00', '1234.56']);
  expect(() => formatDollars(1.5)).toThrow(RangeError);
  expect(parseBalanceDollars('0.00')).toBe(0);
  expect(parseBalanceDollars('50000.00')).toBe(5_000_000);
  expect(parseBalanceDollars('-1.00')).toBeUndefined();
});

it('reads only digits, with at most nine before the point and one or two after it', () => {
  expect(['12', '12.5', '12.05', '0.7', '999999999.99'].map(parseBalanceDollars)).toEqual([1200, 1250, 1205, 70, 99_999_999_999]);
  for (const bad of ['', '.', '.5', '12.', '12.345', '1234567890', '1,000', '12 ', ' 12', '1.2.3', '１２', '12a', '1e3', '+5']) {
    expect(parseBalanceDollars(bad), bad).toBeUndefined();
  }
});
