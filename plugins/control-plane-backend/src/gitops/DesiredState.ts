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
import {
  DefinitionResolution,
  globalIdOf,
  projectObjectIssues,
  resourceProjectIssues,
  resolveDefinition,
} from '../projects/projectRules';
import { DependencyGraph } from './graph';
import { keyString } from './manifestCodec';
import { placementIssues } from './validatePlacement';

/**
 * A product as the control plane knows it: declared in Git, by a module, or built in; in a
 * project (`project`), the project's effective definition of it.
 */
export interface KnownProduct {
  id: string;
  spec: ProductSpec;
  /** Where the global product it starts from is declared. */
  source: 'state-repo' | 'module' | 'builtin';
  /** The project whose definition this is, when it is one. */
  project?: string;
}

/** ref → the refs of the resources that depend on it (`dependsOn`), canonical. */
type Dependents = Map<string, ReadonlySet<string>>;

/** Objects by kind, then by key string; in a layer, null is an object removed. */
type Objects<V> = Map<ManifestKind, Map<string, V>>;

/** How many changes a state may sit on before `with` folds them into a new base. */
const MAX_LAYERS = 32;

/** The canonical refs a resource depends on. */
function dependenciesOf(m: ManifestOf<'Resource'>): string[] {
  return m.spec.dependsOn.map(dep =>
    stringifyResourceRef(parseResourceRef(dep)),
  );
}

/**
 * The whole desired state at one commit: every manifest of the state repository, plus the
 * products built in or registered by modules. Immutable; `with` makes a changed copy that
 * costs what the change touches: it is a layer of the changed objects over the state it was
 * made from (reads look through the layers), and every {@link MAX_LAYERS} layers the
 * whole is folded into a new base. Walking every object of a kind (`each`, `ofKind`)
 * folds the layers once for that state.
 */
export class DesiredState {
  /** The folded objects, when this state is a base or was folded. */
  private folded: Objects<Manifest> | undefined;
  private dependents: Dependents | undefined;
  /** Kinds folded on their own (see `objectsOf`), when the whole state is not. */
  private readonly foldedKinds = new Map<ManifestKind, Map<string, Manifest>>();
  /** For a layer: who starts and stops depending on what, by target ref. */
  private dependentsDelta: Map<string, Map<string, boolean>> | undefined;
  /** Project definitions by project, then id (built once per state). */
  private projectDefinitions:
    | Map<string, Map<string, ManifestOf<'ProjectProduct'>>>
    | undefined;
  /** Effective definitions resolved in this state, by `project/id`. */
  private readonly resolved = new Map<string, DefinitionResolution>();

  private constructor(
    readonly commit: string | undefined,
    private readonly moduleProducts: ReadonlyMap<string, ProductSpec>,
    private readonly layer:
      | {
          under: DesiredState;
          objects: Objects<Manifest | null>;
          depth: number;
        }
      | undefined,
    base?: Objects<Manifest>,
  ) {
    this.folded = base;
  }

  static create(
    commit: string | undefined,
    manifests: Iterable<Manifest>,
    moduleProducts: ReadonlyMap<string, ProductSpec> = new Map(),
  ): DesiredState {
    const objects: Objects<Manifest> = new Map();
    for (const manifest of manifests) {
      let ofKind = objects.get(manifest.kind);
      if (!ofKind) {
        ofKind = new Map();
        objects.set(manifest.kind, ofKind);
      }
      ofKind.set(keyString(manifestKey(manifest)), manifest);
    }
    return new DesiredState(commit, moduleProducts, undefined, objects);
  }

  /** A copy with `put` written and `remove` gone, at `commit` (by default none yet). */
  with(
    put: Manifest[],
    remove: ObjectKey[] = [],
    commit?: string,
  ): DesiredState {
    const depth = this.layer?.depth ?? 0;
    const under = depth >= MAX_LAYERS ? this.fold() : this;
    const objects: Objects<Manifest | null> = new Map();
    const set = (kind: ManifestKind, key: string, value: Manifest | null) => {
      let ofKind = objects.get(kind);
      if (!ofKind) {
        ofKind = new Map();
        objects.set(kind, ofKind);
      }
      ofKind.set(key, value);
    };
    for (const key of remove) set(key.kind, keyString(key), null);
    for (const manifest of put) {
      set(manifest.kind, keyString(manifestKey(manifest)), manifest);
    }
    const next = new DesiredState(commit, this.moduleProducts, {
      under,
      objects,
      depth: under === this ? depth + 1 : 1,
    });
    const delta = new Map<string, Map<string, boolean>>();
    const resourceKeys = [...remove, ...put.map(manifestKey)].filter(
      k => k.kind === 'Resource',
    );
    for (const { namespace, name } of resourceKeys) {
      const ref = stringifyResourceRef({ namespace, name });
      const edit = (m: ManifestOf<'Resource'> | undefined, on: boolean) => {
        for (const dep of m ? dependenciesOf(m) : []) {
          const edits = delta.get(dep) ?? new Map<string, boolean>();
          edits.set(ref, on);
          delta.set(dep, edits);
        }
      };
      edit(under.get('Resource', name, namespace), false);
      edit(next.get('Resource', name, namespace), true);
    }
    next.dependentsDelta = delta;
    return next;
  }

  /** This state as a new base: its layers folded into one copy, and its index of dependents. */
  private fold(): DesiredState {
    const base = new DesiredState(
      this.commit,
      this.moduleProducts,
      undefined,
      this.objects(),
    );
    base.dependents = this.foldedDependents();
    return base;
  }

  /** The objects of one kind (folding only that kind's changes, once). */
  private objectsOf(
    kind: ManifestKind,
  ): ReadonlyMap<string, Manifest> | undefined {
    if (this.folded) return this.folded.get(kind);
    const known = this.foldedKinds.get(kind);
    if (known) return known;
    const changes: Map<string, Manifest | null>[] = [];
    // eslint-disable-next-line consistent-this
    let state: DesiredState = this;
    while (!state.folded) {
      const ofKind = state.layer!.objects.get(kind);
      if (ofKind) changes.push(ofKind);
      state = state.layer!.under;
    }
    const base = state.folded.get(kind);
    if (changes.length === 0) return base;
    const folded = new Map(base);
    for (const layer of changes.reverse()) {
      for (const [key, manifest] of layer) {
        if (manifest) folded.set(key, manifest);
        else folded.delete(key);
      }
    }
    this.foldedKinds.set(kind, folded);
    return folded;
  }

  /** Every object, by kind (folding the layers into one copy, once). */
  private objects(): Objects<Manifest> {
    if (this.folded) return this.folded;
    const layers: Objects<Manifest | null>[] = [];
    // eslint-disable-next-line consistent-this
    let state: DesiredState = this;
    while (!state.folded) {
      layers.push(state.layer!.objects);
      state = state.layer!.under;
    }
    const folded = new Map(state.folded);
    const copied = new Set<ManifestKind>();
    for (const objects of layers.reverse()) {
      for (const [kind, changes] of objects) {
        if (!copied.has(kind)) {
          folded.set(kind, new Map(folded.get(kind)));
          copied.add(kind);
        }
        const ofKind = folded.get(kind)!;
        for (const [key, manifest] of changes) {
          if (manifest) ofKind.set(key, manifest);
          else ofKind.delete(key);
        }
      }
    }
    this.folded = folded;
    return folded;
  }

  /**
   * The index of dependents of this layered state as one map, when the base under its layers
   * has one (patched with every layer's changes), for a new base.
   */
  private foldedDependents(): Dependents | undefined {
    const deltas: Map<string, Map<string, boolean>>[] = [];
    // eslint-disable-next-line consistent-this
    let state: DesiredState = this;
    while (state.layer && !state.dependents) {
      deltas.push(state.dependentsDelta ?? new Map());
      state = state.layer.under;
    }
    if (!state.dependents) return undefined;
    const index = new Map(state.dependents);
    for (const delta of deltas.reverse()) {
      for (const [target, edits] of delta) {
        const dependents = new Set(index.get(target));
        for (const [dependent, on] of edits) {
          if (on) dependents.add(dependent);
          else dependents.delete(dependent);
        }
        if (dependents.size) index.set(target, dependents);
        else index.delete(target);
      }
    }
    return index;
  }

  /** The refs of the resources that depend on `ref` directly. */
  dependentsOf(ref: string): ReadonlySet<string> {
    if (this.layer && !this.dependents) {
      const edits = this.dependentsDelta?.get(ref);
      const below = this.layer.under.dependentsOf(ref);
      if (!edits) return below;
      const result = new Set(below);
      for (const [dependent, on] of edits) {
        if (on) result.add(dependent);
        else result.delete(dependent);
      }
      return result;
    }
    if (!this.dependents) {
      const index: Dependents = new Map();
      for (const m of this.each('Resource')) {
        const self = stringifyResourceRef(m.metadata);
        for (const dep of dependenciesOf(m)) {
          const dependents =
            (index.get(dep) as Set<string> | undefined) ?? new Set();
          dependents.add(self);
          index.set(dep, dependents);
        }
      }
      this.dependents = index;
    }
    return this.dependents.get(ref) ?? new Set();
  }

  get size(): number {
    let size = 0;
    for (const ofKind of this.objects().values()) size += ofKind.size;
    return size;
  }

  all(): Manifest[] {
    return [...this.objects().values()].flatMap(ofKind => [...ofKind.values()]);
  }

  get<K extends ManifestKind>(
    kind: K,
    name: string,
    namespace = DEFAULT_NAMESPACE,
  ): ManifestOf<K> | undefined {
    const key = keyString({ kind, namespace, name });
    // eslint-disable-next-line consistent-this
    let state: DesiredState = this;
    for (;;) {
      if (state.folded) {
        return state.folded.get(kind)?.get(key) as ManifestOf<K> | undefined;
      }
      const { under, objects } = state.layer!;
      const found = objects.get(kind)?.get(key);
      if (found !== undefined) {
        return (found ?? undefined) as ManifestOf<K> | undefined;
      }
      state = under;
    }
  }

  has(key: ObjectKey): boolean {
    return this.get(key.kind, key.name, key.namespace) !== undefined;
  }

  ofKind<K extends ManifestKind>(kind: K): ManifestOf<K>[] {
    return [...this.each(kind)];
  }

  /** The objects of a kind, without copying them into an array. */
  each<K extends ManifestKind>(kind: K): Iterable<ManifestOf<K>> {
    return (this.objectsOf(kind)?.values() ?? []) as Iterable<ManifestOf<K>>;
  }

  resource(ref: string): ManifestOf<'Resource'> | undefined {
    const { namespace, name } = parseResourceRef(ref);
    return this.get('Resource', name, namespace);
  }

  /**
   * A product; with `project`, the project's effective definition of it (the global one when
   * the project does not define it), or undefined when that definition is refused (see
   * {@link DesiredState.definition} for why).
   */
  product(id: string, project?: string): KnownProduct | undefined {
    if (project !== undefined && this.definitionsOf(project).size > 0) {
      const resolution = this.definition(project, id);
      if (!resolution?.ok) return undefined;
      if (resolution.definition.chain.length > 1) {
        return {
          id,
          spec: resolution.definition.spec,
          source: resolution.base.source,
          project,
        };
      }
    }
    const global = this.globalProduct(id);
    if (global || project !== undefined) return global;
    return this.variantBase(id);
  }

  /**
   * For a product id only projects define (a variant, e.g. `mysql-ledger` extending `mysql`),
   * the global product it builds on: what callers that know no project (pricing, demand,
   * operations) need of it (category, sizes, operations), which a project cannot change.
   * Validation keeps an id building on one global product across projects.
   */
  private variantBase(id: string): KnownProduct | undefined {
    let base: string | undefined;
    for (const m of this.each('ProjectProduct')) {
      if (m.metadata.name !== id) continue;
      const built = globalIdOf(this, m.metadata.namespace, id);
      if (base !== undefined && built !== base) return undefined;
      base = built;
    }
    return base === undefined ? undefined : this.globalProduct(base);
  }

  /** The project definitions of `project`, by id. */
  definitionsOf(
    project: string,
  ): ReadonlyMap<string, ManifestOf<'ProjectProduct'>> {
    if (!this.projectDefinitions) {
      const index = new Map<
        string,
        Map<string, ManifestOf<'ProjectProduct'>>
      >();
      for (const m of this.each('ProjectProduct')) {
        let ofProject = index.get(m.metadata.namespace);
        if (!ofProject) {
          ofProject = new Map();
          index.set(m.metadata.namespace, ofProject);
        }
        ofProject.set(m.metadata.name, m);
      }
      this.projectDefinitions = index;
    }
    return this.projectDefinitions.get(project) ?? new Map();
  }

  /**
   * The effective definition of `id` in `project`, with where its fields came from; or why
   * it is refused; undefined when nothing defines `id` for the project.
   */
  definition(project: string, id: string): DefinitionResolution | undefined {
    const key = `${project}/${id}`;
    if (!this.resolved.has(key)) {
      const resolution = resolveDefinition(this, project, id);
      if (resolution) this.resolved.set(key, resolution);
      else return undefined;
    }
    return this.resolved.get(key);
  }

  /** A project's manifest (compliance, approvals, SLA), when it has one. */
  project(name: string): ManifestOf<'Project'> | undefined {
    return this.get('Project', name);
  }

  /**
   * Whether a namespace is a registered project: it has a Project manifest or definitions of
   * its own. Only a registered project's resources are closed to other projects' dependents
   * (see docs/service-registry.md).
   */
  isRegisteredProject(name: string): boolean {
    return !!this.project(name) || this.definitionsOf(name).size > 0;
  }

  /** A global product: declared in Git, registered by a module, or built in. */
  globalProduct(id: string): KnownProduct | undefined {
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
    return [...ids].sort().map(id => this.globalProduct(id)!);
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
  // In a project, its effective definition of the product (see projects/projectRules.ts).
  const project = r.metadata.namespace;
  const resolution = state.definition(project, r.spec.product);
  const product =
    resolution && !resolution.ok
      ? undefined
      : state.product(r.spec.product, project);
  if (resolution && !resolution.ok) {
    issues.push(
      issue(
        key,
        'spec.product',
        // The definition's own issues are reported on it (it is checked with the change).
        `the definition of ${r.spec.product} in project ${project} is refused (see ProjectProduct:${project}/${resolution.definition})`,
      ),
    );
  } else if (!product) {
    issues.push(issue(key, 'spec.product', `no product ${r.spec.product}`));
  }
  const tier = state.tier(r.spec.tier);
  if (!tier) {
    issues.push(issue(key, 'spec.tier', `no tier ${r.spec.tier}`));
  }
  if (!state.cell(r.spec.cell)) {
    issues.push(issue(key, 'spec.cell', `no cell ${r.spec.cell}`));
  }
  (r.spec.rollout?.waves ?? []).forEach((wave, w) =>
    wave.cells.forEach((cell, c) => {
      if (!state.cell(cell)) {
        issues.push(
          issue(key, `spec.rollout.waves.${w}.cells.${c}`, `no cell ${cell}`),
        );
      }
    }),
  );
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
    issues.push(
      ...resourceProjectIssues(state, r, product, result).map(i =>
        issue(key, i.path, i.message),
      ),
    );
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
      target.metadata.namespace !== project &&
      state.isRegisteredProject(target.metadata.namespace) &&
      !state.definition(target.metadata.namespace, target.spec.product)?.ok
    ) {
      // The target's own validation names what is wrong with its project's definition.
      issues.push(
        issue(
          key,
          `spec.dependsOn.${index}`,
          `${ref} is in project ${target.metadata.namespace}, whose definition of ${target.spec.product} is refused`,
        ),
      );
    } else if (
      target.metadata.namespace !== project &&
      state.isRegisteredProject(target.metadata.namespace) &&
      !(
        state.definition(target.metadata.namespace, target.spec.product) as {
          definition: { publish: boolean };
        }
      ).definition.publish
    ) {
      issues.push(
        issue(
          key,
          `spec.dependsOn.${index}`,
          `${ref} is in project ${target.metadata.namespace}, which does not publish its ${target.spec.product} definition (publish: true in projects/${target.metadata.namespace}/products/${target.spec.product}.yaml lets other projects depend on it)`,
        ),
      );
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
    case 'Project':
    case 'ProjectProduct':
      return projectObjectIssues(state, m).map(i =>
        issue(key, i.path, i.message),
      );
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
 * A dependency cycle through one of `refs` in `state`, as the refs around it (the first
 * repeated last), or undefined; visits only what `refs` depend on, transitively.
 */
function cycleThrough(
  state: DesiredState,
  refs: string[],
): string[] | undefined {
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (ref: string): string[] | undefined => {
    if (onStack.has(ref)) return [...stack.slice(stack.indexOf(ref)), ref];
    if (done.has(ref)) return undefined;
    const m = state.resource(ref);
    if (!m) return undefined;
    stack.push(ref);
    onStack.add(ref);
    for (const dep of dependenciesOf(m)) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    onStack.delete(ref);
    done.add(ref);
    return undefined;
  };
  for (const ref of [...refs].sort()) {
    const cycle = visit(ref);
    if (cycle) return cycle;
  }
  return undefined;
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
        // Project definitions build on global products; their resources too.
        next.ofKind('ProjectProduct').forEach(add);
        next
          .ofKind('Resource')
          .filter(
            r =>
              next.definitionsOf(r.metadata.namespace).size > 0 &&
              r.spec.product !== key.name,
          )
          .forEach(add);
        break;
      case 'Tier':
        next
          .ofKind('Resource')
          .filter(r => r.spec.tier === key.name)
          .forEach(add);
        next.ofKind('Project').forEach(add); // SLA promises against the tiers
        break;
      case 'Project':
      case 'ProjectProduct': {
        // A project's definitions, its resources, and other projects' resources depending
        // on them (what it publishes) are checked again.
        const project = key.kind === 'Project' ? key.name : key.namespace;
        next.definitionsOf(project).forEach(add);
        if (key.kind === 'ProjectProduct') {
          // Other projects' definitions of the same id build on the same product.
          next
            .ofKind('ProjectProduct')
            .filter(d => d.metadata.name === key.name)
            .forEach(add);
        }
        add(next.project(project));
        for (const r of next.each('Resource')) {
          if (r.metadata.namespace !== project) continue;
          add(r);
          for (const dependent of next.dependentsOf(
            stringifyResourceRef(r.metadata),
          )) {
            add(next.resource(dependent));
          }
        }
        break;
      }
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
        next
          .ofKind('Project')
          .filter(p => p.spec.cells?.includes(key.name))
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
      case 'Resource':
        for (const dependent of next.dependentsOf(stringifyResourceRef(key))) {
          add(next.resource(dependent));
        }
        break;
      default:
        break;
    }
  }

  const issues = [...toCheck.values()].flatMap(m => validateObject(next, m));
  // The state before was acyclic: a new cycle goes through a resource the change wrote.
  const cycle = cycleThrough(
    next,
    changed
      .filter(k => k.kind === 'Resource')
      .map(k => stringifyResourceRef(k)),
  );
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
