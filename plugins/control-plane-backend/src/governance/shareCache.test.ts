import { ConfigReader } from '@backstage/config';
import {
  builtinProducts,
  Manifest,
  MANIFEST_API_VERSION,
  manifestKey,
  ManifestOf,
} from '@idp-multicloud/plugin-control-plane-common';
import { bootstrapManifests } from '../gitops/bootstrap';
import { DesiredState } from '../gitops/DesiredState';
import { PriceList, Pricing } from '../scheduling/pricing';
import { readControlPlaneConfig } from '../config';
import { countableOf, effectiveParamsOf, shareOf } from './usage';

// Shares of placed resources are remembered by spec; each case checks the remembered share
// against one computed afresh (a copy of the spec is a new object, so nothing is remembered).
const defaultPrices = readControlPlaneConfig(new ConfigReader({})).pricing;
const pricing = (prices: PriceList = defaultPrices) => new Pricing(prices);

/** A copy of a price list with every price tripled. */
function tripled<T>(value: T): T {
  if (typeof value === 'number') return (value * 3) as T;
  if (Array.isArray(value)) return value.map(tripled) as T;
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, tripled(v)]),
  ) as T;
}

const resource: ManifestOf<'Resource'> = {
  apiVersion: MANIFEST_API_VERSION,
  kind: 'Resource',
  metadata: { namespace: 'default', name: 'orders-db', labels: {} },
  spec: {
    product: 'mysql',
    owner: 'group:default/payments',
    tier: 'medium',
    cell: 'cell-us',
    params: { size: 'medium', storageGi: 50 },
    dependsOn: [],
  },
} as ManifestOf<'Resource'>;

const fleet = DesiredState.create(undefined, bootstrapManifests('simulated'));
// mysql redefined in Git as plain compute: it no longer bills a primary besides its replicas.
const mysqlInGit = fleet.with([
  {
    apiVersion: MANIFEST_API_VERSION,
    kind: 'Product',
    metadata: { name: 'mysql', labels: {} },
    spec: { ...builtinProducts.mysql, category: 'compute' },
  } as Manifest,
]);
const expensive = tripled(defaultPrices);

const fresh = (s: Pricing, d: DesiredState, provider: string) =>
  shareOf(s, d, countableOf(structuredClone(resource), provider));

describe('shares of placed resources', () => {
  const s = pricing();
  it.each([
    ['the built-in product on aws', s, fleet, 'aws'],
    ['the same, again (remembered)', s, fleet, 'aws'],
    ['another provider', s, fleet, 'gcp'],
    ['the product redefined in Git', s, mysqlInGit, 'aws'],
    ['another price list', pricing(expensive), fleet, 'aws'],
  ])('are what a fresh computation gives: %s', (_case, sch, desired, p) => {
    expect(shareOf(sch, desired, countableOf(resource, p))).toEqual(
      fresh(sch, desired, p),
    );
  });

  it('change with the product, the provider and the prices', () => {
    const base = shareOf(s, fleet, countableOf(resource, 'aws'));
    expect(shareOf(s, fleet, countableOf(resource, 'oci'))).not.toEqual(base);
    expect(
      shareOf(s, mysqlInGit, countableOf(resource, 'aws')).monthlyCost,
    ).toBeLessThan(base.monthlyCost);
    expect(
      shareOf(pricing(expensive), fleet, countableOf(resource, 'aws'))
        .monthlyCost,
    ).toBeGreaterThan(base.monthlyCost);
  });

  it('of an unplaced resource follow the clusters of its cell', () => {
    const unplaced = countableOf(resource);
    const here = shareOf(s, fleet, unplaced);
    expect(shareOf(s, fleet, unplaced)).toBe(here);
    // Without the clusters of the cheapest provider of the cell, it costs more.
    const [cheapest] = s.byProvider(
      fleet,
      'mysql',
      effectiveParamsOf(fleet, unplaced),
      'cell-us',
    );
    const fewer = fleet.with(
      [],
      fleet
        .ofKind('Cluster')
        .filter(
          c =>
            c.spec.cell === 'cell-us' && c.spec.provider === cheapest.provider,
        )
        .map(manifestKey),
    );
    const there = shareOf(s, fewer, unplaced);
    expect(there).toEqual(
      shareOf(s, fewer, countableOf(structuredClone(resource))),
    );
    expect(there.monthlyCost).toBeGreaterThan(here.monthlyCost);
  });
});
