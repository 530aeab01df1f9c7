import { LoggerService } from '@backstage/backend-plugin-api';
import { isDatabaseUnavailable } from '../database/availability';
import { AuditEntry, AuditLog } from './AuditLog';

/**
 * Audit events that could not be written because the database was away: kept in order and
 * written once it is back (by {@link DeferredAudit.flush}, which the pipeline calls before
 * each audit it writes, and a background task every few seconds). Each keeps the time it
 * happened in its reason. At most `limit` wait; older ones are logged and dropped.
 */
export class DeferredAudit {
  private readonly pending: AuditEntry[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly audit: AuditLog,
    private readonly logger: LoggerService,
    private readonly limit = 10_000,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  /** Appends now, or keeps the entry for later when the database is unavailable. */
  async append(entry: AuditEntry): Promise<void> {
    await this.flush();
    if (this.pending.length > 0) {
      // Still away: keep the order of events.
      this.defer(entry);
      return;
    }
    try {
      await this.audit.append(entry);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      this.defer(entry);
    }
  }

  private defer(entry: AuditEntry) {
    if (this.pending.length >= this.limit) {
      const dropped = this.pending.shift()!;
      this.logger.error('an audit event was dropped: the database is away', {
        actor: dropped.actor,
        action: dropped.action,
        target: dropped.target,
        requestId: dropped.requestId,
      });
    }
    this.pending.push({
      ...entry,
      reason: `${
        entry.reason ?? ''
      } (recorded late: the database was unavailable at ${new Date().toISOString()})`.trim(),
    });
  }

  /** Writes what waits, oldest first; stops at the first failure (the database is still away). */
  flush(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    this.flushing ??= (async () => {
      try {
        while (this.pending.length > 0) {
          await this.audit.append(this.pending[0]);
          this.pending.shift();
        }
      } catch (error) {
        if (!isDatabaseUnavailable(error)) {
          this.logger.warn(`could not write a deferred audit event: ${error}`);
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }
}
