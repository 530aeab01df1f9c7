import { ServiceUnavailableError } from '@backstage/errors';

/** Error codes that say the database cannot be reached now, not that a query is wrong. */
const UNAVAILABLE_CODES = new Set([
  // sockets
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  // PostgreSQL: connection exceptions (class 08), operator intervention (57P0x), too many connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // SQLite: the file is locked by another writer for longer than the busy timeout
  'SQLITE_BUSY',
]);

const UNAVAILABLE_MESSAGES =
  /Connection terminated|Timeout acquiring a connection|the database system is (shutting down|starting up|in recovery mode)|terminating connection due to administrator command|is not currently accepting connections|Client has encountered a connection error|connect ECONNREFUSED/i;

/**
 * Whether `error` (or an error it wraps) says the database is unavailable: a connection
 * refused or dropped, a server shutting down or starting, a pool that could not hand out a
 * connection. Such a request may succeed when retried; it is not the caller's mistake, nor a
 * bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: any = error, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) {
      return true;
    }
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) {
      return true;
    }
  }
  return false;
}

/** How long a client should wait before retrying a request refused for an unavailable database. */
export const RETRY_AFTER_SECONDS = 2;

/** The 503 a request gets while the database is unavailable. */
export function databaseUnavailable(cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    `The control plane's database is unavailable; nothing was changed. Retry in ${RETRY_AFTER_SECONDS} s (with the same Idempotency-Key)`,
    cause instanceof Error ? cause : undefined,
  );
}
