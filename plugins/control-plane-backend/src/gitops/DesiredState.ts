import {
  builtinProducts,
  CellSpec,
  ClusterSpec,
  DEFAULT_NAMESPACE,
  defaultTiers,
  Manifest,
  manifestKey,
  ManifestKind,
  ManifestOf,
  ObjectKey,
  ownValue,
  parseResourceRef,
  ProductSpec,
  ProviderSpec,
  productParametersSchema,
  stringifyResourceRef,
  TierSpec,
  tierIds,
  validateResourceParameters,
  ValidationIssue,
} from '@idp-multicloud/plugin-control-plane-common';
import { DependencyGraph, findCycle } from './graph';
import { keyString } from './manifestCodec';
import { placementIssues } from './validatePlacement';

/** A product as the control plane knows it: declared in Git, by a module, or built in. */
export interface KnownProduct {
  id: string;
  spec: ProductSpec;
  source: 'state-repo' | 'module' | 'builtin';
}

/**
 * The whole desired state at one commit: every manifest of the state repository, plus the
 * products built in or registered by modules. Immutable; `with` makes a changed copy.
 */
export class DesiredState {
  private constructor(
    readonly commit: string | undefined,
    private readonly objects: ReadonlyMap<string, Manifest>,
    private readonly moduleProducts: ReadonlyMap<string, ProductSpec>,
  ) {}

  static create(
    commit: string | undefined,
    manifests: Iterable<Manifest>,
    moduleProducts: ReadonlyMap<string, ProductSpec> = new Map(),
  ): DesiredState {
    const objects = new Map<string, Manifest>();
    for (const manifest of manifests) {
      objects.set(keyString(manifestKey(manifest)), manifest);
    }
    return new DesiredState(commit, objects, moduleProducts);
  }

  /** A copy with `put` written and `remove` gone, at `commit` (by default none yet). */
  with(
    put: Manifest[],
    remove: ObjectKey[] = [],
    commit?: string,
  ): DesiredState {
    const objects = new Map(this.objects);
    for (const key of remove) objects.delete(keyString(key));
    for (const manifest of put)
      objects.set(keyString(manifestKey(manifest)), manifest);
    return new DesiredState(commit, objects, this.moduleProducts);
  }

  get size(): number {
    return this.objects.size;
  }

  all(): Manifest[] {
    return [...this.objects.values()];
  }

  get<K extends ManifestKind>(
    kind: K,
    name: string,
    namespace = DEFAULT_NAMESPACE,
  ) {
    return this.objects.get(keyString({ kind, namespace, name })) as
      | ManifestOf<K>
      | undefined;
  }

  has(key: ObjectKey): boolean {
    return this.objects.has(keyString(key));
  }

  ofKind<K extends ManifestKind>(kind: K): ManifestOf<K>[] {
    return this.all().filter((m): m is ManifestOf<K> => m.kind === kind);
  }

  resource(ref: string): ManifestOf<'Resource'> | undefined {
    const { namespace, name } = parseResourceRef(ref);
    return this.get('Resource', name, namespace);
  }

  product(id: string): KnownProduct | undefined {
    const declared = this.get('Product', id);
    if (declared) return { id, spec: declared.spec, source: 'state-repo' };
    const registered = this.moduleProducts.get(id);
    if (registered) return { id, spec: registered, source: 'module' };
    const builtin = ownValue<ProductSpec>(builtinProducts, id);
    return builtin ? { id, spec: builtin, source: 'builtin' } : undefined;
  }

  products(): KnownProduct[] {
    const ids = new Set([
      ...Object.keys(builtinProducts),
      ...this.moduleProducts.keys(),
      ...this.ofKind('Product').map(p => p.metadata.name),
    ]);
    return [...ids].sort().map(id => this.product(id)!);
  }

  tier(id: string): TierSpec | undefined {
    if (!(tierIds as readonly string[]).includes(id)) return undefined;
    return this.get('Tier', id)?.spec ?? ownValue<TierSpec>(defaultTiers, id);
  }

  cell(id: string): CellSpec | undefined {
    return this.get('Cell', id)?.spec;
  }

  provider(id: string): ProviderSpec | undefined {
    return this.get('Provider', id)?.spec;
  }

  cluster(id: string): ClusterSpec | undefined {
    return this.get('Cluster', id)?.spec;
  }

  /** The graph of resource dependencies, by canonical resource ref. */
  dependencyGraph(): DependencyGraph {
    return new Map(
      this.ofKind('Resource').map(r => [
        stringifyResourceRef(r.metadata),
        r.spec.dependsOn.map(dep =>
          stringifyResourceRef(parseResourceRef(dep)),
        ),
      ]),
    );
  }
}

/** An issue of one object: where it lives and what is wrong. */
export interface ObjectIssue extends ValidationIssue {
  key: ObjectKey;
}

function issue(key: ObjectKey, path: string, message: string): ObjectIssue {
  return { key, path, message };
}

function validateResource(
  state: DesiredState,
  r: ManifestOf<'Resource'>,
): ObjectIssue[] {
  const key = manifestKey(r);
  const issues: ObjectIssue[] = [];
  const product = state.product(r.spec.product);
  if (!product) {
    issues.push(issue(key, 'spec.product', `no product ${r.spec.product}`));
  }
  const tier = state.tier(r.spec.tier);
  if (!tier) {
    issues.push(issue(key, 'spec.tier', `no tier ${r.spec.tier}`));
  }
  if (!state.cell(r.spec.cell)) {
    issues.push(issue(key, 'spec.cell', `no cell ${r.spec.cell}`));
  }
  issues.push(
    ...placementIssues(state, r.spec).map(i => issue(key, i.path, i.message)),
  );
  if (product && tier) {
    const result = validateResourceParameters({
      productId: product.id,
      product: product.spec,
      tierId: r.spec.tier,
      tier,
      params: r.spec.params,
    });
    if (!result.ok) {
      issues.push(...result.issues.map(i => issue(key, i.path, i.message)));
    }
  }
  const self = stringifyResourceRef(r.metadata);
  r.spec.dependsOn.forEach((dep, index) => {
    const ref = stringifyResourceRef(parseResourceRef(dep));
    const target = state.resource(ref);
    if (ref === self) {
      issues.push(
        issue(
          key,
          `spec.dependsOn.${index}`,
          'a resource cannot depend on itself',
        ),
      );
    } else if (!target) {
      issues.push(issue(key, `spec.dependsOn.${index}`, `no resource ${ref}`));
    } else if (
      product &&
      !product.spec.dependsOn.includes(target.spec.product)
    ) {
      issues.push(
        issue(
          key,
          `spec.dependsOn.${index}`,
          `a ${product.id} cannot depend on a ${
            target.spec.product
          } (it may depend on: ${
            product.spec.dependsOn.join(', ') || 'nothing'
          })`,
        ),
      );
    }
  });
  return issues;
}

function validateObject(state: DesiredState, m: Manifest): ObjectIssue[] {
  const key = manifestKey(m);
  switch (m.kind) {
    case 'Resource':
      return validateResource(state, m);
    case 'Product': {
      try {
        productParametersSchema(m.metadata.name, m.spec);
        return [];
      } catch (error) {
        return [
          issue(
            key,
            'spec.parameters',
            `not a usable JSON Schema: ${(error as Error).message}`,
          ),
        ];
      }
    }
    case 'Cell':
      return m.spec.providers
        .map((p, i) =>
          state.provider(p)
            ? undefined
            : issue(key, `spec.providers.${i}`, `no provider ${p}`),
        )
        .filter((i): i is ObjectIssue => !!i);
    case 'Cluster': {
      const issues: ObjectIssue[] = [];
      const cell = state.cell(m.spec.cell);
      if (!cell) issues.push(issue(key, 'spec.cell', `no cell ${m.spec.cell}`));
      if (!state.provider(m.spec.provider)) {
        issues.push(
          issue(key, 'spec.provider', `no provider ${m.spec.provider}`),
        );
      } else if (cell && !cell.providers.includes(m.spec.provider)) {
        issues.push(
          issue(
            key,
            'spec.provider',
            `cell ${m.spec.cell} does not list provider ${m.spec.provider}`,
          ),
        );
      }
      return issues;
    }
    case 'Quota':
      return m.spec.scope.kind === 'cell' && !state.cell(m.spec.scope.name)
        ? [issue(key, 'spec.scope.name', `no cell ${m.spec.scope.name}`)]
        : [];
    default:
      return [];
  }
}

/**
 * Validates a desired state after a change, knowing the state before it was valid: the
 * changed objects themselves, everything that refers to a changed or removed object, and the
 * dependency graph as a whole (no cycles).
 */
export function validateChange(
  next: DesiredState,
  changed: ObjectKey[],
  removed: ObjectKey[],
): ObjectIssue[] {
  const toCheck = new Map<string, Manifest>();
  const add = (m: Manifest | undefined) =>
    m && toCheck.set(keyString(manifestKey(m)), m);
  for (const key of changed) add(next.get(key.kind, key.name, key.namespace));

  const touched = [...changed, ...removed];
  for (const key of touched) {
    switch (key.kind) {
      case 'Product':
        next
          .ofKind('Resource')
          .filter(r => r.spec.product === key.name)
          .forEach(add);
        break;
      case 'Tier':
        next
          .ofKind('Resource')
          .filter(r => r.spec.tier === key.name)
          .forEach(add);
        break;
      case 'Cell':
        next
          .ofKind('Resource')
          .filter(r => r.spec.cell === key.name)
          .forEach(add);
        next
          .ofKind('Cluster')
          .filter(c => c.spec.cell === key.name)
          .forEach(add);
        next
          .ofKind('Quota')
          .filter(q => q.spec.scope.name === key.name)
          .forEach(add);
        break;
      case 'Provider':
        next
          .ofKind('Cell')
          .filter(c => c.spec.providers.includes(key.name))
          .forEach(add);
        next
          .ofKind('Cluster')
          .filter(c => c.spec.provider === key.name)
          .forEach(add);
        next
          .ofKind('Resource')
          .filter(r => r.spec.placement?.provider === key.name)
          .forEach(add);
        break;
      case 'Cluster':
        next
          .ofKind('Resource')
          .filter(r => r.spec.placement?.cluster === key.name)
          .forEach(add);
        break;
      case 'Resource': {
        const ref = stringifyResourceRef(key);
        next
          .ofKind('Resource')
          .filter(r =>
            r.spec.dependsOn.some(
              d => stringifyResourceRef(parseResourceRef(d)) === ref,
            ),
          )
          .forEach(add);
        break;
      }
      default:
        break;
    }
  }

  const issues = [...toCheck.values()].flatMap(m => validateObject(next, m));
  const cycle = findCycle(next.dependencyGraph());
  if (cycle) {
    const { namespace, name } = parseResourceRef(cycle[0]);
    issues.push(
      issue(
        { kind: 'Resource', namespace, name },
        'spec.dependsOn',
        `dependency cycle: ${cycle.join(' → ')}`,
      ),
    );
  }
  return issues;
}
