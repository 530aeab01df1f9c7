import {
  Manifest,
  ObjectKey,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { DesiredState } from './DesiredState';
import { definitionImpacts, impactRef, reachOf } from './migrationGuide';

/** A change that breaks something users of the desired state rely on. */
export interface BreakingChange {
  key: ObjectKey;
  /** e.g. resource.deleted, resource.replaced, tier.lowered, product.removed */
  code: string;
  message: string;
}

const tierRank = new Map([
  ['critical', 4],
  ['high', 3],
  ['medium', 2],
  ['low', 1],
]);

const refOf = (key: ObjectKey) =>
  key.kind === 'Resource'
    ? stringifyResourceRef(key)
    : `${key.kind.toLowerCase()}:${key.name}`;

/**
 * The breaking changes between two desired states, for the objects changed and removed:
 * a resource deleted (its data and what runs on it go), a resource whose product or cell
 * changes (a new instance replaces it), a resource moved to a lower tier (weaker SLA and
 * required features), and a product, tier, cell or provider removed.
 */
export function breakingChanges(
  before: DesiredState,
  after: DesiredState,
  changed: ObjectKey[],
  removed: ObjectKey[],
): BreakingChange[] {
  const found: BreakingChange[] = [];
  for (const key of removed) {
    // a product's manifest removed, its module's or built-in definition back: compared below
    if (key.kind === 'Product' && after.product(key.name)) continue;
    const what = refOf(key);
    found.push(
      key.kind === 'Resource'
        ? {
            key,
            code: 'resource.deleted',
            message: `${what} is deleted: its data and what runs on it go with it`,
          }
        : {
            key,
            code: `${key.kind.toLowerCase()}.removed`,
            message: `${what} is removed`,
          },
    );
  }
  for (const key of changed) {
    if (key.kind !== 'Resource') continue;
    const old = before.get('Resource', key.name, key.namespace) as
      | Extract<Manifest, { kind: 'Resource' }>
      | undefined;
    const now = after.get('Resource', key.name, key.namespace) as
      | Extract<Manifest, { kind: 'Resource' }>
      | undefined;
    if (!old || !now) continue;
    const what = refOf(key);
    for (const field of ['product', 'cell'] as const) {
      if (old.spec[field] !== now.spec[field]) {
        found.push({
          key,
          code: 'resource.replaced',
          message: `${what} changes ${field} from ${old.spec[field]} to ${now.spec[field]}: a new instance replaces it`,
        });
      }
    }
    const from = tierRank.get(old.spec.tier) ?? 0;
    const to = tierRank.get(now.spec.tier) ?? 0;
    if (to < from) {
      found.push({
        key,
        code: 'tier.lowered',
        message: `${what} moves from tier ${old.spec.tier} to ${now.spec.tier}: a weaker SLA and fewer required features`,
      });
    }
  }
  for (const impact of definitionImpacts(before, after, changed, removed)) {
    const key: ObjectKey = impact.project
      ? {
          kind: 'ProjectProduct',
          namespace: impact.project,
          name: impact.product,
        }
      : { kind: 'Product', namespace: 'default', name: impact.product };
    for (const f of impact.findings.filter(x => x.breaking)) {
      const reached = impact.affected.resources.filter(r =>
        r.findings.includes(f.code),
      );
      // what reaches no resource is in the plan's definitions, but breaks nothing
      if (reached.length === 0) continue;
      found.push({
        key,
        code: f.code,
        message: `${impactRef(impact)}: ${f.message}; affects ${reachOf(
          reached,
        )}`,
      });
    }
  }
  return found;
}

/**
 * Who depends on what changes, across namespaces: for each changed or removed resource, the
 * resources of other namespaces that depend on it (before or after the change).
 */
export function crossNamespaceImpact(
  before: DesiredState,
  after: DesiredState,
  touched: ObjectKey[],
): { ref: string; dependents: string[] }[] {
  const impact: { ref: string; dependents: string[] }[] = [];
  for (const key of touched) {
    if (key.kind !== 'Resource') continue;
    const ref = stringifyResourceRef(key);
    const dependents = [
      ...new Set([...before.dependentsOf(ref), ...after.dependentsOf(ref)]),
    ]
      .filter(d => !d.startsWith(`resource:${key.namespace}/`))
      .sort();
    if (dependents.length > 0) impact.push({ ref, dependents });
  }
  return impact;
}
