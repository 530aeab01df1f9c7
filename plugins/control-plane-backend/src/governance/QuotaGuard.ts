import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { AuditLog } from '../audit/AuditLog';
import { isPostgres } from '../database/util';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceRecord } from '../resources/ResourceStore';
import { PlacementQuota, SchedulingDecision } from '../scheduling/pipeline';
import { Scheduler } from '../scheduling/Scheduler';
import {
  Countable,
  noShare,
  quotaApplies,
  quotaUsages,
  quotaViolations,
  shareOf,
} from './usage';

/**
 * Quotas again at placement, where they are race-free. The scheduler's `quota` filter
 * rejects the clusters a placement would break a quota on (instances, storage, monthly
 * cost), counting the resources already placed; the schedule step then admits the placement
 * inside the transaction that records it, holding a lock per quota (an advisory transaction
 * lock on PostgreSQL; SQLite has a single writer). Two requests that both passed the check
 * before their commits cannot both take the last unit of a quota: the one that loses the
 * race is scheduled again, and its quota filter then refuses it, audited.
 */
export class QuotaGuard {
  constructor(
    private readonly options: {
      db: Knex;
      scheduler: Scheduler;
      audit?: AuditLog;
    },
  ) {}

  private self(resource: ResourceRecord, provider?: string): Countable {
    return {
      namespace: resource.metadata.namespace,
      spec: resource.spec,
      provider,
      pinnedProvider: resource.spec.placement?.provider,
    };
  }

  private async placedOthers(
    db: Knex | Knex.Transaction,
    uid: string,
  ): Promise<Countable[]> {
    const rows = await db('resources')
      .whereNot('state', 'DELETED')
      .whereNotNull('placement')
      .whereNot('uid', uid)
      .select(
        'namespace',
        'product',
        'owner',
        'cell',
        'tier',
        'spec',
        'placement',
      );
    return rows.map((r: any) => ({
      namespace: r.namespace,
      spec: {
        product: r.product,
        owner: r.owner,
        cell: r.cell,
        tier: r.tier,
        params: JSON.parse(r.spec).params ?? {},
      },
      provider: JSON.parse(r.placement).provider,
    }));
  }

  /** Every quota that applies to `resource`, with what the resources placed already use. */
  async placementQuotas(
    desired: DesiredState,
    resource: ResourceRecord,
  ): Promise<PlacementQuota[]> {
    const self = this.self(resource);
    if (!desired.ofKind('Quota').some(q => quotaApplies(q.spec, self))) {
      return [];
    }
    const { scheduler } = this.options;
    return quotaUsages(
      scheduler,
      desired,
      self,
      noShare,
      await this.placedOthers(this.options.db, resource.uid),
    ).map(({ request: _request, ...quota }) => quota);
  }

  /**
   * Audits a placement the quotas refused (`policy.decision`, rejected), with the reasons
   * of every cluster's refusal; does nothing for a decision quotas had no part in.
   */
  async auditRefusal(
    resource: ResourceRecord,
    decision: SchedulingDecision,
    operation: { id: string; actor: string },
  ): Promise<void> {
    if (decision.outcome !== 'unschedulable') return;
    const reasons = [
      ...new Set(
        decision.candidates.flatMap(c =>
          c.rejected.filter(r => r.filter === 'quota').map(r => r.reason),
        ),
      ),
    ];
    if (reasons.length === 0) return;
    await this.options.audit?.append({
      actor: operation.actor,
      action: 'policy.decision',
      target: resource.ref,
      outcome: 'rejected',
      reason: `placement (operation ${
        operation.id
      }) by quota guard: ${reasons.join('; ')}`.slice(0, 2000),
      requestId: operation.id,
    });
  }

  /** Admits placing `resource` on `provider`, or throws a non-retryable error naming the limit. */
  async admit(
    trx: Knex.Transaction,
    desired: DesiredState,
    resource: ResourceRecord,
    provider: string,
  ): Promise<void> {
    const self = this.self(resource, provider);
    const quotas = desired
      .ofKind('Quota')
      .filter(q => quotaApplies(q.spec, self))
      .map(q => q.metadata.name)
      .sort();
    if (quotas.length === 0) return;
    if (isPostgres(this.options.db)) {
      for (const quota of quotas) {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [
          `control-plane.quota:${quota}`,
        ]);
      }
    }
    const { scheduler } = this.options;
    const usages = quotaUsages(
      scheduler,
      desired,
      self,
      shareOf(scheduler, desired, self),
      await this.placedOthers(trx, resource.uid),
    );
    const violations = quotaViolations(usages);
    if (violations.length > 0) {
      // Another placement took the quota since this one was scheduled: scheduling again
      // refuses it (with the quota filter's reasons, audited) or finds room.
      throw new DriverError(
        `over quota at placement, taken by another placement meanwhile: ${violations
          .map(v => v.message)
          .join('; ')}`,
        { retryable: true },
      );
    }
  }
}
