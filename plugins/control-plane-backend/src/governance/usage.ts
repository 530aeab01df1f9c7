import {
  ManifestOf,
  normalizeEntityRef,
  QuotaSpec,
  TierId,
  validateResourceParameters,
} from '@idp-multicloud/plugin-control-plane-common';
import { PolicyQuotaUsage } from '@idp-multicloud/plugin-control-plane-node';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceFootprint } from '../resources/ResourceStore';
import { demandOf } from '../scheduling/demand';
import { Pricing } from '../scheduling/pricing';

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
  // A project's definition may set other defaults (e.g. its default size).
  const product = desired.product(r.spec.product, r.namespace);
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

/**
 * What a resource counts: one instance, its storage, and its monthly cost on its provider
 * (the pinned one, or the cheapest in its cell until it is placed).
 */
export function shareOf(
  pricing: Pricing,
  desired: DesiredState,
  r: Countable,
): Share {
  const provider = r.provider ?? r.pinnedProvider;
  const known = knownShare(pricing, desired, r, provider);
  if (known.share) return known.share;
  const params = effectiveParamsOf(desired, r);
  const monthlyCost = provider
    ? pricing.monthlyCost(desired, r.spec.product, params, provider)
    : pricing.byProvider(desired, r.spec.product, params, r.spec.cell)[0]
        ?.monthlyCost ?? 0;
  const share = {
    instances: 1,
    storageGi: demandOf(desired, r.spec.product, params).storageGi,
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
  pricing: Pricing,
  desired: DesiredState,
  r: Countable,
  provider: string | undefined,
): ShareEntry {
  const { product, tier } = specsOf(desired, r.spec.product, r.spec.tier);
  const key: ShareEntry = { provider, product, tier, prices: pricing.prices };
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
  pricing: Pricing,
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
      found = shareOf(pricing, desired, o);
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

/** A resource the control plane runs (or will), as quotas count it. */
export function countableOfFootprint(r: ResourceFootprint): Countable {
  return {
    namespace: r.namespace,
    spec: {
      product: r.product,
      owner: r.owner,
      cell: r.cell,
      tier: r.tier,
      params: r.params,
    },
    provider: r.placement?.provider,
    pinnedProvider: r.pinnedProvider,
  };
}
