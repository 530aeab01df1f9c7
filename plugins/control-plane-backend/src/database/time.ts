import { DateTime } from 'luxon';

/** The current instant, in the form every store writes timestamps. */
export function now(): string {
  return DateTime.utc().toISO();
}

/**
 * Reads a timestamp column: PostgreSQL hands back a Date, SQLite the string we wrote.
 */
export function readTimestamp(value: Date | string | number): string {
  if (value instanceof Date) {
    return DateTime.fromJSDate(value, { zone: 'utc' }).toISO()!;
  }
  if (typeof value === 'number') {
    return DateTime.fromMillis(value, { zone: 'utc' }).toISO()!;
  }
  const parsed = DateTime.fromISO(value, { zone: 'utc' });
  return (parsed.isValid ? parsed : DateTime.fromSQL(value, { zone: 'utc' }))
    .toUTC()
    .toISO()!;
}
