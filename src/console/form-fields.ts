import type { Request } from 'express';
import { UsageError } from '../errors.js';
import { calendarDay } from '../reports/calendar-day.js';

/**
 * The fields of the console's GET forms (finance, audit), checked as the CLI checks its flags. A
 * date picker sends only real days, but an address can be typed: an impossible day or period is
 * refused with one line naming the field by its label.
 */

/** A field's one value; absent or empty is undefined, a field given twice is refused. */
export function queryField(request: Request, name: string, label: string): string | undefined {
  const value = request.query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new UsageError(`${label}: give one value`);
  return value;
}

/** A day (reports/calendar-day.ts), e.g. 2026-11-01. */
export function queryDay(request: Request, name: string, label: string): string | undefined {
  const value = queryField(request, name, label);
  if (value === undefined) return undefined;
  const parsed = calendarDay.safeParse(value);
  if (!parsed.success) throw new UsageError(`${label}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** The days `from` ("From") and `to` ("To"), both included; From may not be after To. */
export function queryPeriod(request: Request): { from?: string; to?: string } {
  const from = queryDay(request, 'from', 'From');
  const to = queryDay(request, 'to', 'To');
  if (from !== undefined && to !== undefined && from > to) throw new UsageError(`From (${from}) must not be after To (${to})`);
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}
