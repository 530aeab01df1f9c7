import {
  Manifest,
  ManifestOf,
  ProductSpec,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { DateTime } from 'luxon';
import { DesiredState } from './DesiredState';

/** Something a change keeps using that is deprecated. */
export interface DeprecationWarning {
  ref: string;
  /** `product.deprecated` or `version.deprecated` */
  code: string;
  message: string;
}

/** The engine version a resource asks for, by its product's version parameter. */
function versionOf(
  spec: ProductSpec,
  r: ManifestOf<'Resource'>,
): string | undefined {
  if (!spec.versionParameter) return undefined;
  const value = (r.spec.params as Record<string, unknown> | undefined)?.[
    spec.versionParameter
  ];
  if (value !== undefined) return String(value);
  const fallback = (
    spec.parameters as { properties?: Record<string, { default?: unknown }> }
  ).properties?.[spec.versionParameter]?.default;
  return fallback === undefined ? undefined : String(fallback);
}

const when = (removalDate: string, now: DateTime) => {
  const days = Math.ceil(
    DateTime.fromISO(removalDate, { zone: 'utc' }).diff(now, 'days').days,
  );
  return days < 0
    ? `its removal date ${removalDate} has passed`
    : `removal on ${removalDate} (in ${days} day${days === 1 ? '' : 's'})`;
};

/** The deprecations a resource uses: its product, its engine version. */
function deprecationsOf(
  state: DesiredState,
  r: ManifestOf<'Resource'>,
  now: DateTime,
): DeprecationWarning[] {
  // as its project sees the product (its own definition, if it has one)
  const product = state.product(r.spec.product, r.metadata.namespace);
  if (!product) return [];
  const ref = stringifyResourceRef(r.metadata);
  const found: DeprecationWarning[] = [];
  const { deprecated, deprecatedVersions } = product.spec;
  if (deprecated) {
    found.push({
      ref,
      code: 'product.deprecated',
      message: `product ${product.id} is deprecated, ${when(
        deprecated.removalDate,
        now,
      )}${deprecated.replacement ? `: use ${deprecated.replacement}` : ''}${
        deprecated.message ? ` (${deprecated.message})` : ''
      }`,
    });
  }
  const version = versionOf(product.spec, r);
  const doomed =
    version !== undefined ? deprecatedVersions?.[version] : undefined;
  if (doomed) {
    found.push({
      ref,
      code: 'version.deprecated',
      message: `${product.id} ${version} is deprecated, ${when(
        doomed.removalDate,
        now,
      )}${doomed.message ? ` (${doomed.message})` : ''}`,
    });
  }
  return found;
}

/**
 * What a change keeps using that is deprecated: each resource it writes whose product or
 * engine version is deprecated, and, for a definition it writes, every resource on it.
 */
export function deprecationWarnings(
  next: DesiredState,
  put: Manifest[],
  now: DateTime = DateTime.utc(),
): DeprecationWarning[] {
  const warnings: DeprecationWarning[] = [];
  const seen = new Set<string>();
  const add = (r: ManifestOf<'Resource'>) => {
    const ref = stringifyResourceRef(r.metadata);
    if (seen.has(ref)) return;
    seen.add(ref);
    warnings.push(...deprecationsOf(next, r, now));
  };
  for (const m of put) {
    if (m.kind === 'Resource') add(m);
  }
  const products = new Set(
    put.filter(m => m.kind === 'Product').map(m => m.metadata.name),
  );
  if (products.size > 0) {
    for (const r of next.each('Resource')) {
      if (products.has(r.spec.product)) add(r);
    }
  }
  return warnings;
}

/** Who uses a product, and which of them run a deprecated version of it. */
export function productUsage(state: DesiredState, id: string) {
  const product = state.product(id);
  if (!product) return undefined;
  const { deprecated, deprecatedVersions } = product.spec;
  const resources = [...state.each('Resource')]
    .filter(r => r.spec.product === id)
    .map(r => {
      const version = versionOf(product.spec, r);
      return {
        ref: stringifyResourceRef(r.metadata),
        project: r.metadata.namespace,
        owner: r.spec.owner,
        ...(r.spec.component ? { component: r.spec.component } : {}),
        tier: r.spec.tier,
        ...(version !== undefined ? { version } : {}),
        deprecatedVersion:
          version !== undefined && !!deprecatedVersions?.[version],
      };
    })
    .sort((a, b) => a.ref.localeCompare(b.ref));
  return {
    product: id,
    ...(deprecated ? { deprecated } : {}),
    ...(deprecatedVersions ? { deprecatedVersions } : {}),
    resources,
    owners: [...new Set(resources.map(r => r.owner))].sort(),
    projects: [...new Set(resources.map(r => r.project))].sort(),
  };
}
