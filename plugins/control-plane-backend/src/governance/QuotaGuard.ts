import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { AuditLog } from '../audit/AuditLog';
import { isPostgres } from '../database/util';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { PlacementQuota, SchedulingDecision } from '../scheduling/pipeline';
import { Pricing } from '../scheduling/pricing';
import { quotaViolations } from '../scheduling/quotaCheck';
import {
  Countable,
  countableOfFootprint,
  noShare,
  quotaApplies,
  quotaUsages,
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
      resources: ResourceStore;
      pricing: Pricing;
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

  /** The other live placed resources, in the caller's transaction when given one. */
  private async placedOthers(
    uid: string,
    trx?: Knex.Transaction,
  ): Promise<Countable[]> {
    const placed = await this.options.resources.placed({ except: uid }, trx);
    return placed.map(countableOfFootprint);
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
    return quotaUsages(
      this.options.pricing,
      desired,
      self,
      noShare,
      await this.placedOthers(resource.uid),
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
    if (isPostgres(trx)) {
      for (const quota of quotas) {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [
          `control-plane.quota:${quota}`,
        ]);
      }
    }
    const { pricing } = this.options;
    const usages = quotaUsages(
      pricing,
      desired,
      self,
      shareOf(pricing, desired, self),
      await this.placedOthers(resource.uid, trx),
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
