import { AuditEntry, storable } from '../audit/AuditLog';
import { CommitInfo } from './GitStateRepo';

/** Trailers the control plane writes on its own commits. */
export const TRAILERS = {
  action: 'Action',
  target: 'Target',
  requestId: 'Request-Id',
  idempotencyKey: 'Idempotency-Key',
  approvedBy: 'Approved-by',
  /** Where the API request came from (its client's address and user agent). */
  sourceIp: 'Source-Ip',
  userAgent: 'User-Agent',
  /** Digests of what the change touched, before and after it. */
  beforeDigest: 'Before-Digest',
  afterDigest: 'After-Digest',
  /**
   * `<id> <hash>` of the newest audit event when the commit was made: anchors the audit
   * chain outside the database, so deleting its newest events is detected.
   */
  auditHead: 'Audit-Head',
  /**
   * On a commit the API made over a rejected head: the rejected head, whose changes the
   * commit undoes (it is made on the last good head's tree).
   */
  undoesRejected: 'Undoes-Rejected',
  /**
   * `acknowledged` on a commit that makes a breaking change of a product definition: whoever
   * made it saw the findings and the migration guide. The indexer refuses such a change
   * without it, pushed by hand or not.
   */
  breakingChange: 'Breaking-Change',
} as const;

/** The first `max` code points of a trailer (hand-pushed commits may carry anything). */
export function clip(
  value: string | undefined,
  max: number,
): string | undefined {
  return value === undefined ? undefined : storable(value, max);
}

const sha256Pattern = /^[0-9a-f]{64}$/;

/**
 * Who a commit is attributed to. A commit the control plane signed is its author, the
 * authenticated caller it was made for; any other commit was pushed by hand and is only what
 * its author line claims: `git:<name> <email>`, as written, never a catalog entity.
 */
export function actorOf(commit: CommitInfo): string {
  return commit.signed
    ? commit.author.name
    : `git:${commit.author.name} <${commit.author.email}>`;
}

/**
 * The audit event of an indexed commit. Only the control plane's own (signed) commits carry
 * facts in their trailers: the request, its caller's address, the approvers. A hand-pushed
 * commit's trailers are what the pusher wrote: kept as data in the event's reason, never as
 * the event's fields.
 */
export function auditEntryOf(commit: CommitInfo): AuditEntry {
  const subject = commit.message.split('\n')[0];
  const trailers = commit.signed ? commit.trailers : {};
  const actor = actorOf(commit);
  const requestId = clip(trailers[TRAILERS.requestId], 64);
  const approvers = Object.entries(trailers)
    .filter(([k]) => /^(approved|reviewed)-by$/i.test(k))
    .map(([, v]) => v);
  const digest = (key: string) =>
    sha256Pattern.test(trailers[key] ?? '') ? trailers[key] : undefined;
  const ip = trailers[TRAILERS.sourceIp];
  const userAgent = trailers[TRAILERS.userAgent];
  return {
    actor,
    action: commit.signed
      ? trailers[TRAILERS.action] ?? 'state-repo.push'
      : 'state-repo.push',
    target: commit.signed
      ? trailers[TRAILERS.target] ?? 'state-repo'
      : 'state-repo',
    outcome: 'accepted',
    reason: commit.signed
      ? `${subject}${
          trailers[TRAILERS.undoesRejected]
            ? ` (made on the last good head: also undoes the refused head ${clip(
                trailers[TRAILERS.undoesRejected],
                40,
              )})`
            : ''
        }`
      : describePush(commit),
    requestId,
    approvers,
    commit: commit.sha,
    ...(ip || userAgent
      ? {
          source: {
            ...(ip ? { ip } : {}),
            ...(userAgent ? { userAgent } : {}),
          },
        }
      : {}),
    beforeDigest: digest(TRAILERS.beforeDigest),
    afterDigest: digest(TRAILERS.afterDigest),
    verified: commit.signed,
  };
}

/**
 * The reason of a hand-pushed commit's event: its subject, and its trailers as data (what
 * the pusher claims, e.g. an approver), never as facts of the event.
 */
function describePush(commit: CommitInfo): string {
  const subject = commit.message.split('\n')[0];
  const claims = Object.entries(commit.trailers)
    .map(([key, value]) => `${key}: ${value}`)
    .join('; ');
  return storable(
    `${subject} (pushed by hand; unverified${
      claims ? `; its trailers claim ${claims}` : ''
    })`,
    4000,
  );
}
