import { InputError, NotFoundError } from '@backstage/errors';
import {
  Chargeback,
  chargebackQuerySchema,
  CostEstimate,
  costEstimateRequestSchema,
  Manifest,
  ManifestOf,
  parseResourceRef,
  Plan,
  validateResourceParameters,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { parseInput, validationError } from '../errors';
import { DesiredState } from '../gitops/DesiredState';
import {
  ResourceFootprint,
  ResourceRecord,
  ResourceStore,
} from '../resources/ResourceStore';
import { PlacementStore } from '../scheduling/PlacementStore';
import { HOURS_PER_MONTH, Pricing } from '../scheduling/pricing';
import {
  addShares,
  Countable,
  countableOfFootprint,
  effectiveParamsOf,
  noShare,
  quotaApplies,
  shareOf,
} from './usage';

/** States a resource is billed in. */
const BILLED = new Set(['READY', 'DEGRADED']);

const cents = (v: number) => Math.round(v * 100) / 100;

/** The row of a chargeback report a resource's cost goes to. */
function chargebackKey(
  r: ResourceFootprint,
  groupBy: Chargeback['groupBy'],
): string {
  switch (groupBy) {
    case 'team':
      return r.owner;
    case 'provider':
      return r.placement?.provider ?? 'unplaced';
    default:
      return r[groupBy];
  }
}

/**
 * Prices a plan (see CostService.priced) with the providers resources are placed on, by
 * `namespace/name` (none offline: each priced on the cheapest provider of its cell).
 */
export function pricePlan(
  pricing: Pricing,
  placed: ReadonlyMap<string, string>,
  state: DesiredState,
  manifests: Manifest[],
  plan: Plan,
): Plan {
  const deleted = plan.changes
    .filter(c => c.kind === 'Resource' && c.action === 'delete')
    .map(c => ({ kind: 'Resource' as const, ...parseResourceRef(c.ref) }));
  const next = state.with(manifests, deleted);
  const monthly = (s: DesiredState, ref: string) => {
    const m = s.resource(ref) as ManifestOf<'Resource'> | undefined;
    if (!m) return 0;
    return shareOf(pricing, s, {
      namespace: m.metadata.namespace,
      spec: m.spec,
      provider: placed.get(`${m.metadata.namespace}/${m.metadata.name}`),
      pinnedProvider: m.spec.placement?.provider,
    }).monthlyCost;
  };
  let before = 0;
  let after = 0;
  const changes = plan.changes.map(change => {
    if (change.kind !== 'Resource') return change;
    const cost = {
      before: monthly(state, change.ref),
      after: monthly(next, change.ref),
    };
    before += cost.before;
    after += cost.after;
    return {
      ...change,
      cost: { ...cost, delta: cents(cost.after - cost.before) },
    };
  });
  return {
    ...plan,
    changes,
    cost: {
      currency: 'USD',
      before: cents(before),
      after: cents(after),
      delta: cents(after - before),
    },
  };
}

/**
 * Cost estimates at plan time, accrued cost (while READY or DEGRADED) for a resource and as
 * chargeback reports, and the usage of every quota.
 */
export class CostService {
  constructor(
    private readonly options: {
      resources: ResourceStore;
      placements: PlacementStore;
      pricing: Pricing;
    },
  ) {}

  /** What a resource would cost on each provider that can run it in the cell. */
  estimate(desired: DesiredState, body: unknown): CostEstimate {
    const request = parseInput(costEstimateRequestSchema, body);
    const tierId = request.tier ?? 'medium';
    const product = desired.product(request.product);
    if (!product) {
      throw new InputError(
        `product: no product ${request.product} (known: ${desired
          .products()
          .map(p => p.id)
          .join(', ')})`,
      );
    }
    const tier = desired.tier(tierId);
    if (!tier) throw new InputError(`tier: no tier ${tierId}`);
    if (request.cell && !desired.cell(request.cell)) {
      throw new InputError(`cell: no cell ${request.cell}`);
    }
    const checked = validateResourceParameters({
      productId: product.id,
      product: product.spec,
      tierId: tierId as any,
      tier,
      params: request.params ?? {},
    });
    if (!checked.ok) throw validationError(checked.issues);
    const estimates = this.options.pricing.byProvider(
      desired,
      product.id,
      checked.params,
      request.cell,
    );
    return {
      currency: 'USD',
      product: product.id,
      tier: tierId,
      ...(request.cell ? { cell: request.cell } : {}),
      params: checked.params,
      estimates,
      ...(estimates[0] ? { cheapest: estimates[0] } : {}),
    };
  }

  /**
   * Prices a plan: the estimated monthly cost of each resource it creates, changes or
   * deletes, before and after, and the total change. A resource is priced on the provider it
   * runs on (or is pinned to), else on the cheapest that can run it in its cell.
   */
  async priced(
    state: DesiredState,
    manifests: Manifest[],
    plan: Plan,
  ): Promise<Plan> {
    return pricePlan(
      this.options.pricing,
      await this.options.resources.placedProviders(),
      state,
      manifests,
      plan,
    );
  }

  /** Billed hours (READY or DEGRADED) of each resource within [from, to). */
  private billedHours(
    from: DateTime,
    to: DateTime,
    uid?: string,
  ): Promise<Map<string, number>> {
    return this.options.resources.hoursIn(
      BILLED,
      { from: from.toISO()!, to: to.toISO()! },
      uid,
    );
  }

  private hourlyCost(desired: DesiredState, r: ResourceFootprint): number {
    if (!r.placement) return 0;
    const params = effectiveParamsOf(desired, {
      namespace: r.namespace,
      spec: { ...r, params: r.params },
    });
    return (
      this.options.pricing.monthlyCost(
        desired,
        r.product,
        params,
        r.placement.provider,
      ) / HOURS_PER_MONTH
    );
  }

  /** Cost accrued over a window, grouped by cell, team, tier, product or provider. */
  /**
   * `restrict` (a `where` on the resources table, from a permission decision) limits the
   * report to the resources whose cost the caller may see.
   */
  async chargeback(
    desired: DesiredState,
    query: unknown,
    restrict?: (qb: Knex.QueryBuilder) => void,
  ): Promise<Chargeback> {
    const q = parseInput(chargebackQuerySchema, query);
    const to = q.to ? DateTime.fromISO(q.to).toUTC() : DateTime.utc();
    const from = q.from
      ? DateTime.fromISO(q.from).toUTC()
      : to.startOf('month');
    if (to <= from) {
      throw new InputError('to: must be after from');
    }
    const hours = await this.billedHours(from, to);
    const resources = await this.options.resources.footprintsOf(
      [...hours.keys()],
      restrict,
    );
    const rows = new Map<
      string,
      { cost: number; hours: number; resources: number }
    >();
    for (const r of resources) {
      const h = hours.get(r.uid) ?? 0;
      const key = chargebackKey(r, q.groupBy);
      const row = rows.get(key) ?? { cost: 0, hours: 0, resources: 0 };
      row.cost += this.hourlyCost(desired, r) * h;
      row.hours += h;
      row.resources += 1;
      rows.set(key, row);
    }
    const list = [...rows.entries()]
      .map(([key, v]) => ({
        key,
        cost: cents(v.cost),
        hours: Math.round(v.hours * 100) / 100,
        resources: v.resources,
      }))
      .sort((a, b) => b.cost - a.cost || a.key.localeCompare(b.key));
    return {
      currency: 'USD',
      from: from.toISO()!,
      to: to.toISO()!,
      groupBy: q.groupBy,
      total: cents(list.reduce((sum, r) => sum + r.cost, 0)),
      rows: list,
    };
  }

  /** Every quota with what its scope uses now. */
  async quotaUsage(desired: DesiredState) {
    const live = (await this.options.resources.liveFootprints()).map(
      countableOfFootprint,
    );
    const { pricing } = this.options;
    return desired.ofKind('Quota').map(q => ({
      id: q.metadata.name,
      ...q.spec,
      usage: live
        .filter(r => quotaApplies(q.spec, r))
        .reduce((sum, r) => addShares(sum, shareOf(pricing, desired, r)), {
          ...noShare,
        }),
    }));
  }

  /** A resource's monthly estimate, its cost so far this month, and its tightest budget. */
  async resourceCost(desired: DesiredState, resource: ResourceRecord) {
    const provider = resource.status.placement?.provider;
    const countable: Countable = {
      namespace: resource.metadata.namespace,
      spec: resource.spec,
      provider,
      pinnedProvider: resource.spec.placement?.provider,
    };
    const monthlyEstimate = shareOf(
      this.options.pricing,
      desired,
      countable,
    ).monthlyCost;
    const to = DateTime.utc();
    const hours =
      (await this.billedHours(to.startOf('month'), to, resource.uid)).get(
        resource.uid,
      ) ?? 0;
    const [billed] = await this.options.resources.footprintsOf([resource.uid]);
    const monthToDate = billed
      ? cents(this.hourlyCost(desired, billed) * hours)
      : 0;
    const budgets = (await this.quotaUsage(desired))
      .filter(
        q =>
          q.limits.maxMonthlyCost !== undefined && quotaApplies(q, countable),
      )
      .map(q => ({
        quota: q.id,
        limit: q.limits.maxMonthlyCost!,
        used: q.usage.monthlyCost,
      }))
      .sort((a, b) => a.limit - a.used - (b.limit - b.used));
    return {
      ref: resource.ref,
      currency: 'USD' as const,
      ...(provider ? { provider } : {}),
      monthlyEstimate,
      monthToDate,
      ...(budgets[0] ? { budget: budgets[0] } : {}),
    };
  }

  /** The stored placement decision of a resource's current incarnation. */
  async placement(resource: ResourceRecord) {
    const stored = await this.options.placements.latest(resource.uid);
    if (!stored) {
      throw new NotFoundError(`${resource.ref} has not been placed yet`);
    }
    const { decision } = stored;
    return {
      resourceRef: resource.ref,
      ...(stored.operationId ? { operationId: stored.operationId } : {}),
      decidedAt: stored.decidedAt,
      durationMs: stored.durationMs,
      outcome: decision.selected
        ? ('placed' as const)
        : ('unschedulable' as const),
      explanation: stored.explanation,
      ...(decision.selected ? { selected: decision.selected } : {}),
      candidates: decision.candidates,
      weights: decision.weights,
      ...(stored.experiment ? { experiment: stored.experiment } : {}),
    };
  }
}
