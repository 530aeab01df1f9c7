import {
  ManifestOf,
  normalizeEntityRef,
  ProductSpec,
  productParametersSchema,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { provisioningWaves } from '../gitops/graph';
import { GenerationUnit } from './model';

type ResourceManifest = ManifestOf<'Resource'>;

/** Whose resources to generate: a component's, or a project's. */
export type GenerationScope = { component: string } | { project: string };

/** What {@link selectUnits} needs of the desired state and of the caller. */
export interface SelectionSource {
  resources: ResourceManifest[];
  /** The effective definition of a product, by id, in a project (a namespace). */
  product(id: string, project: string): ProductSpec | undefined;
  /** Whether the caller may read the resource: what it cannot read does not exist for it. */
  canRead(resource: ResourceManifest): boolean;
}

/** The resources selected, as units in dependency order, and what was left out. */
export interface Selection {
  units: GenerationUnit[];
  notes: string[];
}

const refOf = (r: ResourceManifest) => stringifyResourceRef(r.metadata);

/** Whether a resource belongs to the scope asked for. */
export function inScope(
  resource: ResourceManifest,
  scope: GenerationScope,
): boolean {
  const served = resource.spec.component;
  if ('component' in scope) {
    const wanted = normalizeEntityRef(
      scope.component.includes(':')
        ? scope.component
        : `component:${scope.component}`,
    );
    return served === wanted;
  }
  const system = normalizeEntityRef(
    scope.project.includes(':') ? scope.project : `system:${scope.project}`,
  );
  const namespace = system.slice(system.lastIndexOf('/') + 1);
  return served === system || resource.metadata.namespace === namespace;
}

/** The parameters with the product's defaults, or as written when they do not parse. */
function withDefaults(
  id: string,
  spec: ProductSpec,
  params: Record<string, unknown>,
): Record<string, unknown> {
  const parsed = productParametersSchema(id, spec).safeParse(params);
  return parsed.success ? (parsed.data as Record<string, unknown>) : params;
}

/**
 * The resources of a component or project the caller may read, with the resources they
 * depend on (a local stack needs its dependencies), dependencies first. A dependency the
 * caller cannot read, or that does not exist, is left out without being named.
 */
export function selectUnits(
  source: SelectionSource,
  scope: GenerationScope,
): Selection {
  const byRef = new Map(source.resources.map(r => [refOf(r), r]));
  const chosen = new Map<string, ResourceManifest>();
  const hidden = new Set<string>();
  const visit = (resource: ResourceManifest) => {
    const ref = refOf(resource);
    if (chosen.has(ref)) return;
    chosen.set(ref, resource);
    for (const dep of resource.spec.dependsOn) {
      const target = byRef.get(dep);
      if (target && source.canRead(target)) visit(target);
      else hidden.add(dep);
    }
  };
  for (const resource of source.resources) {
    if (inScope(resource, scope) && source.canRead(resource)) visit(resource);
  }

  const order = provisioningWaves(
    new Map([...chosen].map(([ref, r]) => [ref, r.spec.dependsOn])),
  ).flat();
  const names = new Map<string, number>();
  for (const r of chosen.values()) {
    names.set(r.metadata.name, (names.get(r.metadata.name) ?? 0) + 1);
  }
  // A name used once is its key, else `<namespace>-<name>`; that may be another resource's
  // name (team/db and x/team-db): names keep their key, and a qualified key taken gets a
  // number, so that no two units share a service, file or block.
  const keys = new Map<string, string>();
  const taken = new Set<string>();
  const qualified: string[] = [];
  for (const [ref, r] of chosen) {
    if (names.get(r.metadata.name)! > 1) qualified.push(ref);
    else {
      keys.set(ref, r.metadata.name);
      taken.add(r.metadata.name);
    }
  }
  for (const ref of qualified.sort()) {
    const r = chosen.get(ref)!;
    const base = `${r.metadata.namespace}-${r.metadata.name}`;
    let key = base;
    for (let n = 2; taken.has(key); n++) key = `${base}-${n}`;
    keys.set(ref, key);
    taken.add(key);
  }
  const keyOf = (ref: string) => keys.get(ref)!;

  const notes: string[] = [];
  if (hidden.size > 0) {
    notes.push(
      `${hidden.size} dependenc${
        hidden.size === 1 ? 'y' : 'ies'
      } left out: missing, or a resource you cannot read`,
    );
  }
  const units: GenerationUnit[] = [];
  for (const ref of order) {
    const r = chosen.get(ref)!;
    const productSpec = source.product(r.spec.product, r.metadata.namespace);
    if (!productSpec) {
      notes.push(`${ref}: product ${r.spec.product} is not defined; left out`);
      continue;
    }
    units.push({
      ref,
      name: r.metadata.name,
      namespace: r.metadata.namespace,
      key: keyOf(ref),
      product: r.spec.product,
      productSpec,
      tier: r.spec.tier,
      cell: r.spec.cell,
      owner: r.spec.owner,
      ...(r.spec.component ? { component: r.spec.component } : {}),
      params: withDefaults(r.spec.product, productSpec, r.spec.params),
      dependsOn: r.spec.dependsOn.filter(d => chosen.has(d)).map(keyOf),
      ...(r.spec.placement?.provider
        ? { provider: r.spec.placement.provider }
        : {}),
    });
  }
  const generated = new Set(units.map(u => u.key));
  for (const unit of units) {
    unit.dependsOn = unit.dependsOn.filter(d => generated.has(d));
  }
  return { units, notes };
}
