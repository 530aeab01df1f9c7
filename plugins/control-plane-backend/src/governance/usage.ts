import {
  ManifestOf,
  normalizeEntityRef,
  QuotaSpec,
  TierId,
  validateResourceParameters,
} from '@idp-multicloud/plugin-control-plane-common';
import { PolicyQuotaUsage } from '@idp-multicloud/plugin-control-plane-node';
import { DesiredState } from '../gitops/DesiredState';
import { Scheduler } from '../scheduling/Scheduler';

/** What one resource counts against a quota. */
export interface Share {
  instances: number;
  storageGi: number;
  monthlyCost: number;
}

export const noShare: Share = { instances: 0, storageGi: 0, monthlyCost: 0 };

/** The parts of a resource quotas look at. */
export interface Countable {
  namespace: string;
  spec: {
    product: string;
    owner: string;
    cell: string;
    tier?: string;
    params: any;
  };
  /** The provider it runs on, when placed (its cost is priced there). */
  provider?: string;
  pinnedProvider?: string;
}

/** The owner ref a team quota names, normalized once per quota spec. */
const teamRefs = new WeakMap<QuotaSpec, string>();

export function quotaApplies(quota: QuotaSpec, r: Countable): boolean {
  switch (quota.scope.kind) {
    case 'cell':
      return r.spec.cell === quota.scope.name;
    case 'team': {
      let team = teamRefs.get(quota);
      if (team === undefined) {
        team = normalizeEntityRef(quota.scope.name);
        teamRefs.set(quota, team);
      }
      return r.spec.owner === team;
    }
    case 'namespace':
      return r.namespace === quota.scope.name;
    default:
      return false;
  }
}

/** Parameters with the product's defaults (and the tier's requirements) applied. */
export function effectiveParamsOf(
  desired: DesiredState,
  r: Countable,
): Record<string, any> {
  const raw = r.spec.params ?? {};
  const product = desired.product(r.spec.product);
  const tierId = (r.spec.tier ?? 'medium') as TierId;
  const tier = desired.tier(tierId);
  if (!product || !tier) return raw;
  const checked = validateResourceParameters({
    productId: product.id,
    product: product.spec,
    tierId,
    tier,
    params: raw,
  });
  return checked.ok ? checked.params : raw;
}

/** Monthly estimate of each provider with a cluster in the cell (all providers without one). */
export function providerCosts(
  scheduler: Scheduler,
  desired: DesiredState,
  product: string,
  params: Record<string, unknown>,
  cell?: string,
): { provider: string; monthlyCost: number }[] {
  const providers = [
    ...new Set(
      desired
        .ofKind('Cluster')
        .filter(c => !cell || c.spec.cell === cell)
        .map(c => c.spec.provider),
    ),
  ];
  return providers
    .map(provider => ({
      provider,
      monthlyCost: scheduler.cost(desired, product, params, provider),
    }))
    .sort(
      (a, b) =>
        a.monthlyCost - b.monthlyCost || a.provider.localeCompare(b.provider),
    );
}

/**
 * What a resource counts: one instance, its storage, and its monthly cost on its provider
 * (the pinned one, or the cheapest in its cell until it is placed).
 */
export function shareOf(
  scheduler: Scheduler,
  desired: DesiredState,
  r: Countable,
): Share {
  const provider = r.provider ?? r.pinnedProvider;
  const known = knownShare(scheduler, desired, r, provider);
  if (known.share) return known.share;
  const params = effectiveParamsOf(desired, r);
  const monthlyCost = provider
    ? scheduler.cost(desired, r.spec.product, params, provider)
    : providerCosts(scheduler, desired, r.spec.product, params, r.spec.cell)[0]
        ?.monthlyCost ?? 0;
  const share = {
    instances: 1,
    storageGi: scheduler.demand(desired, r.spec.product, params).storageGi,
    monthlyCost,
  };
  known.share = Object.freeze(share);
  return share;
}

/** What the share of a resource depends on, and the share once computed. */
interface ShareEntry {
  provider?: string;
  product: unknown;
  tier: unknown;
  prices: unknown;
  share?: Share;
}

/** The product and tier specs of a desired state, looked up once per pair. */
const lookups = new WeakMap<
  DesiredState,
  Map<string, { product: unknown; tier: unknown }>
>();

function specsOf(desired: DesiredState, product: string, tier = 'medium') {
  let byPair = lookups.get(desired);
  if (!byPair) {
    byPair = new Map();
    lookups.set(desired, byPair);
  }
  const pair = `${product}\u0000${tier}`;
  let found = byPair.get(pair);
  if (!found) {
    found = {
      product: desired.product(product)?.spec,
      tier: desired.tier(tier as TierId),
    };
    byPair.set(pair, found);
  }
  return found;
}

/**
 * Shares of resources, by their (immutable) spec: the share of a spec placed on a provider
 * depends only on it, its product's and tier's specs and the price list, so it is computed
 * once, not at every decision for every resource in a quota's scope. That of an unplaced one
 * also depends on the clusters of its cell: it is remembered with the desired state only.
 */
const shares = new WeakMap<object, ShareEntry[]>();
const unplacedShares = new WeakMap<
  DesiredState,
  WeakMap<object, ShareEntry[]>
>();

function knownShare(
  scheduler: Scheduler,
  desired: DesiredState,
  r: Countable,
  provider: string | undefined,
): ShareEntry {
  const { product, tier } = specsOf(desired, r.spec.product, r.spec.tier);
  const key: ShareEntry = { provider, product, tier, prices: scheduler.prices };
  let store = shares;
  if (!provider) {
    store = unplacedShares.get(desired) ?? new WeakMap();
    unplacedShares.set(desired, store);
  }
  const entries = store.get(r.spec) ?? [];
  const found = entries.find(
    e =>
      e.provider === key.provider &&
      e.product === key.product &&
      e.tier === key.tier &&
      e.prices === key.prices,
  );
  if (found) return found;
  // A few entries per spec at most (a provider each); a changed spec is a new object.
  store.set(r.spec, [...entries.slice(-3), key]);
  return key;
}

export const addShares = (a: Share, b: Share): Share => ({
  instances: a.instances + b.instances,
  storageGi: a.storageGi + b.storageGi,
  monthlyCost: Math.round((a.monthlyCost + b.monthlyCost) * 100) / 100,
});

export const subtractShares = (a: Share, b: Share): Share => ({
  instances: a.instances - b.instances,
  storageGi: a.storageGi - b.storageGi,
  monthlyCost: Math.round((a.monthlyCost - b.monthlyCost) * 100) / 100,
});

/** Every quota that applies to `subject`, with the usage of the others and its share. */
export function quotaUsages(
  scheduler: Scheduler,
  desired: DesiredState,
  subject: Countable,
  request: Share,
  others: Countable[],
): PolicyQuotaUsage[] {
  // A resource in the scope of several quotas (its cell's, its team's) is counted once.
  const counted = new Map<Countable, Share>();
  const share = (o: Countable) => {
    let found = counted.get(o);
    if (!found) {
      found = shareOf(scheduler, desired, o);
      counted.set(o, found);
    }
    return found;
  };
  return desired
    .ofKind('Quota')
    .filter(q => quotaApplies(q.spec, subject))
    .map(q => ({
      quota: q.metadata.name,
      scope: q.spec.scope,
      limits: q.spec.limits,
      usage: others
        .filter(o => quotaApplies(q.spec, o))
        .reduce((sum, o) => addShares(sum, share(o)), { ...noShare }),
      request,
    }));
}

const LIMITS = [
  ['maxInstances', 'instances', 'instances', ''],
  ['maxStorageGi', 'storageGi', 'GiB of storage', ''],
  ['maxMonthlyCost', 'monthlyCost', 'USD per month', '$'],
] as const;

/** The limits a request would break: only those its own share makes worse. */
export function quotaViolations(usages: PolicyQuotaUsage[]) {
  const violations: { code: string; message: string; quota: string }[] = [];
  for (const u of usages) {
    for (const [limitKey, field, unit, sign] of LIMITS) {
      const limit = u.limits[limitKey];
      const share = u.request[field];
      if (limit === undefined || share <= 0) continue;
      const after = u.usage[field] + share;
      if (after > limit + 1e-9) {
        const fmt = (v: number) =>
          sign ? `${sign}${v.toFixed(2)}` : `${Math.round(v * 100) / 100}`;
        violations.push({
          code: `quota.${limitKey}`,
          quota: u.quota,
          message: `quota ${u.quota} (${u.scope.kind} ${
            u.scope.name
          }) allows ${limitKey} ${fmt(limit)} ${unit}; ${fmt(
            u.usage[field],
          )} in use, this request adds ${fmt(share)}`,
        });
      }
    }
  }
  return violations;
}

/** A Resource manifest as quotas count it. */
export function countableOf(
  m: ManifestOf<'Resource'>,
  provider?: string,
): Countable {
  return {
    namespace: m.metadata.namespace,
    spec: m.spec,
    provider,
    pinnedProvider: m.spec.placement?.provider,
  };
}
