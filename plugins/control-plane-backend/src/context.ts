/** Where a request came from, as the audit log records it. */
export interface RequestSource {
  ip?: string;
  userAgent?: string;
}

/**
 * Who is asking, and under which request: carried from the API's request pipeline into
 * every service a request reaches (the commit's author and trailers, the audit event).
 */
export interface CallContext {
  actor: string;
  requestId: string;
  idempotencyKey?: string;
  source?: RequestSource;
}
