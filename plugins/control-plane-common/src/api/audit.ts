import { z } from 'zod';
import { filterTextSchema } from './lists';

/**
 * An audit event: who did what, when, from where, with what outcome; chained by hashes.
 * @public
 */
export const auditEventSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    outcome: z.enum(['accepted', 'rejected', 'succeeded', 'failed']),
    reason: z.string().optional(),
    source: z.object({
      ip: z.string().optional(),
      userAgent: z.string().optional(),
    }),
    requestId: z.string().optional(),
    approvers: z.array(z.string()),
    commit: z.string().optional(),
    beforeDigest: z.string().optional(),
    afterDigest: z.string().optional(),
    verified: z
      .boolean()
      .optional()
      .describe(
        'Whether the actor is proven: true for an authenticated API request and a commit the control plane signed; false for a commit pushed by hand (the actor is then `git:<author as written>`, and the trailers of that commit are not taken as facts) and for commit events recorded before commits were signed',
      ),
    hash: z
      .string()
      .describe(
        "HMAC-SHA256 under the control plane's audit key of the event and the previous hash (sha256 for events recorded before the log was keyed)",
      ),
    prevHash: z.string(),
  })
  .meta({ id: 'AuditEvent' });

/**
 * An audit event.
 * @public
 */
export type AuditEvent = z.infer<typeof auditEventSchema>;

/**
 * `GET /audit` query.
 * @public
 */
export const listAuditQuerySchema = z
  .object({
    actor: filterTextSchema.optional(),
    action: filterTextSchema.optional(),
    target: filterTextSchema.optional(),
    outcome: z.enum(['accepted', 'rejected', 'succeeded', 'failed']).optional(),
    since: z.string().datetime({ offset: true }).optional(),
    until: z.string().datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: filterTextSchema.optional(),
  })
  .strict();

/**
 * A page of audit events, newest first.
 * @public
 */
export const auditPageSchema = z
  .object({
    items: z.array(auditEventSchema),
    nextCursor: z.string().optional(),
  })
  .meta({ id: 'AuditPage' });

/**
 * `GET /audit/verify`: the result of walking the hash chain.
 * @public
 */
export const auditVerificationSchema = z
  .object({
    valid: z.boolean(),
    checked: z.number().int(),
    firstBroken: z
      .object({ id: z.number().int(), reason: z.string() })
      .optional()
      .describe(
        'the first event that does not fit: its hash does not match its content, its link is broken, it is missing, or a commit of the control plane anchored it otherwise',
      ),
  })
  .meta({ id: 'AuditVerification' });

/**
 * The result of verifying the audit chain.
 * @public
 */
export type AuditVerification = z.infer<typeof auditVerificationSchema>;
