/**
 * Numbers as people read them in the commands' lines: thousands separated, counts with the right
 * plural. Only for people: CSV and JSON keep money/formatDollars's plain `2599500.00`, which
 * spreadsheets and programs read back. Grouping is done here, not by toLocaleString, so the output
 * does not depend on the machine's locale or ICU data.
 */

const grouped = (digits: string) => digits.replace(/\B(?=(\d{3})+$)/g, ',');

/** 1234 → "1,234": a count for people. */
export const count = (n: number): string => grouped(String(n));

/** 259950000 → "$2,599,500.00"; -123456 → "-$1,234.56". Integer cents, no floating point. */
export function usd(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`not a cent amount: ${cents}`);
  const size = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}$${grouped(String(Math.floor(size / 100)))}.${String(size % 100).padStart(2, '0')}`;
}

/** plural(1, 'row') → "1 row"; plural(1234, 'row') → "1,234 rows". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count(n)} ${n === 1 ? singular : pluralForm}`;
}

/**
 * 95000 → "95 seconds"; 185000 → "4 minutes": a duration for people, rounded up (whole seconds,
 * whole minutes from 2 minutes, whole hours from 2 hours), as a time to wait is better over- than understated.
 */
export function duration(ms: number): string {
  const [size, unit] = ms < 120_000 ? ([1000, 'second'] as const) : ms < 7_200_000 ? ([60_000, 'minute'] as const) : ([3_600_000, 'hour'] as const);
  return plural(Math.max(1, Math.ceil(ms / size)), unit);
}
