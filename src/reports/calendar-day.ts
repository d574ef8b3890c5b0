import { z } from 'zod';

/**
 * A UTC day written 2026-11-01 that is on the calendar. Date.parse alone would take 2026-02-30 and
 * read it as March 2, so a period would silently end two days late: the day must come back
 * unchanged from a date built out of its parts.
 */
export const calendarDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date like 2026-11-01', abort: true })
  .refine(isCalendarDay, { error: (issue) => `${String(issue.input)} is not a day in the calendar` });

function isCalendarDay(day: string): boolean {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const built = new Date(Date.UTC(year, month - 1, date));
  // Date.UTC reads years 0-99 as 1900-1999, which also fails here: no one pays stipends in year 99.
  return built.getUTCFullYear() === year && built.getUTCMonth() === month - 1 && built.getUTCDate() === date;
}
