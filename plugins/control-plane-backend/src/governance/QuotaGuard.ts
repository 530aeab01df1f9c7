import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { isPostgres } from '../database/util';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceRecord } from '../resources/ResourceStore';
import { Scheduler } from '../scheduling/Scheduler';
import {
  Countable,
  quotaApplies,
  quotaUsages,
  quotaViolations,
  shareOf,
} from './usage';

/**
 * Quotas again at placement, where they are race-free: the schedule step admits a
 * placement inside the transaction that records it, holding a lock per quota (an advisory
 * transaction lock on PostgreSQL; SQLite has a single writer), and counts only resources
 * already placed. Two requests that both passed the check before their commits cannot both
 * take the last unit of a quota.
 */
export class QuotaGuard {
  constructor(private readonly options: { db: Knex; scheduler: Scheduler }) {}

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

  /** Monthly budget left in the tightest budget that applies (undefined: none). */
  async budgetHeadroom(
    desired: DesiredState,
    resource: ResourceRecord,
  ): Promise<number | undefined> {
    const budgets = desired
      .ofKind('Quota')
      .filter(
        q =>
          q.spec.limits.maxMonthlyCost !== undefined &&
          quotaApplies(q.spec, this.self(resource)),
      );
    if (budgets.length === 0) return undefined;
    const others = await this.placedOthers(this.options.db, resource.uid);
    const { scheduler } = this.options;
    return Math.min(
      ...budgets.map(
        q =>
          q.spec.limits.maxMonthlyCost! -
          others
            .filter(o => quotaApplies(q.spec, o))
            .reduce(
              (sum, o) => sum + shareOf(scheduler, desired, o).monthlyCost,
              0,
            ),
      ),
    );
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
      throw new DriverError(
        `over quota at placement: ${violations.map(v => v.message).join('; ')}`,
        { retryable: false },
      );
    }
  }
}
