import {
  ComplianceCheck,
  definitionFields,
  effectiveSla,
  ownValue,
  tierIds,
  transitEncryptionControls,
  EffectiveDefinition,
  ManifestOf,
  projectComplianceChecks,
  projectProductPath,
  resolveProjectDefinition,
  resourceComplianceChecks,
  slaIssues,
  stringifyResourceRef,
  validateResourceParameters,
  ValidationIssue,
} from '@idp-multicloud/plugin-control-plane-common';
import type { DesiredState, KnownProduct } from '../gitops/DesiredState';

/*
 * The rules of projects against a desired state: effective definitions, the validation of
 * project manifests and definitions, what a project's rules say of its resources, and the
 * compliance report. Pure: the state in, issues or a report out.
 */

/** An effective definition with the global product it starts from, or why it is refused. */
export type DefinitionResolution =
  | { ok: true; definition: EffectiveDefinition; base: KnownProduct }
  | { ok: false; definition: string; issues: ValidationIssue[] };

/** The global product a project's definition `id` builds on (following `extends`). */
export function globalIdOf(
  state: DesiredState,
  project: string,
  id: string,
): string {
  const seen = new Set<string>();
  let at = id;
  for (;;) {
    const own = state.definitionsOf(project).get(at);
    if (!own || seen.has(at) || own.spec.extends === at) return at;
    seen.add(at);
    at = own.spec.extends;
  }
}

/** Resolves `id` in `project` (see resolveProjectDefinition in -common). */
export function resolveDefinition(
  state: DesiredState,
  project: string,
  id: string,
): DefinitionResolution | undefined {
  const definitions = state.definitionsOf(project);
  const result = resolveProjectDefinition({
    project,
    id,
    definition: at => {
      const m = definitions.get(at);
      return m
        ? { spec: m.spec, path: projectProductPath(project, at) }
        : undefined;
    },
    global: at => state.globalProduct(at),
    baseOf: at =>
      definitions.has(at) ? globalIdOf(state, project, at) : undefined,
  });
  if (!result) return undefined;
  if (!result.ok) return result;
  const base = state.globalProduct(globalIdOf(state, project, id))!;
  return { ok: true, definition: result.definition, base };
}

/** Issues of a project's manifest or of one of its definitions, paths under `spec.`. */
export function projectObjectIssues(
  state: DesiredState,
  m: ManifestOf<'Project'> | ManifestOf<'ProjectProduct'>,
): ValidationIssue[] {
  if (m.kind === 'Project') {
    const issues: ValidationIssue[] = [];
    (m.spec.cells ?? []).forEach((cell, i) => {
      if (!state.cell(cell)) {
        issues.push({ path: `spec.cells.${i}`, message: `no cell ${cell}` });
      }
    });
    issues.push(...slaIssues(m.spec, tier => state.tier(tier)));
    for (const check of projectComplianceChecks(m.metadata.name, m.spec)) {
      if (check.status === 'fail') {
        issues.push({
          path: 'spec.audit.retentionDays',
          message: `${check.rule}: ${check.reason}`,
        });
      }
    }
    return issues;
  }
  const project = m.metadata.namespace;
  const id = m.metadata.name;
  const resolution = state.definition(project, id);
  if (!resolution) return [];
  if (!resolution.ok) {
    return resolution.definition === id
      ? resolution.issues
      : [
          {
            path: 'spec.extends',
            message: `builds on ${project}/${resolution.definition}, which is refused`,
          },
        ];
  }
  const issues: ValidationIssue[] = [];
  // A variant id (no global product has it) names one product across projects: the same
  // global product under it everywhere (pricing and demand know it by its id alone).
  if (!state.globalProduct(id)) {
    const base = globalIdOf(state, project, id);
    for (const other of state.each('ProjectProduct')) {
      const elsewhere = other.metadata.namespace;
      if (other.metadata.name !== id || elsewhere === project) continue;
      const theirs = globalIdOf(state, elsewhere, id);
      if (theirs !== base) {
        issues.push({
          path: 'spec.extends',
          message: `${id} builds on ${base} here but on ${theirs} in project ${elsewhere}; a product id names one product across projects`,
        });
        break;
      }
    }
  }
  // Every dependency it requires is a definition that exists for the project.
  const requires = m.spec.requires;
  if (requires) {
    resolution.definition.spec.dependsOn.forEach(dep => {
      if (!state.product(dep, project)) {
        issues.push({
          path: 'spec.requires',
          message: `${dep} is not a definition of project ${project} nor a global product`,
        });
      }
    });
  }
  return issues;
}

/** Where a refused value was narrowed: the project file that set it, for the refusal. */
function narrowedBy(
  definition: EffectiveDefinition,
  issuePath: string,
): string | undefined {
  const param = issuePath.match(/^spec\.params\.([^.]+)/)?.[1];
  let field: string | undefined;
  if (issuePath === 'spec.tier') field = 'tiers';
  else if (param !== undefined) field = `parameters.${param}`;
  if (!field) return undefined;
  for (const [path, origin] of definition.overridden) {
    if (
      (path === field || path.startsWith(`${field}.`)) &&
      origin.from === 'project'
    ) {
      return `project ${origin.project} narrows it in ${origin.path}`;
    }
  }
  return undefined;
}

/**
 * What a resource's project says of it beyond its parameters: the project rule behind a
 * refused parameter (named on the parameter's issue), and each compliance rule it fails.
 * `checked` is the result of validating its parameters against the effective definition.
 */
export function resourceProjectIssues(
  state: DesiredState,
  r: ManifestOf<'Resource'>,
  product: KnownProduct,
  checked: ReturnType<typeof validateResourceParameters>,
): ValidationIssue[] {
  const project = r.metadata.namespace;
  const issues: ValidationIssue[] = [];
  const resolution = product.project
    ? state.definition(project, product.id)
    : undefined;
  if (!checked.ok) {
    // Name the project rule behind each refusal (the parameter's issue itself is reported).
    if (resolution?.ok) {
      for (const i of checked.issues) {
        const by = narrowedBy(resolution.definition, i.path);
        if (by) {
          issues.push({
            path: i.path,
            message: `refused by the definition of ${product.id} in project ${project}: ${by}`,
          });
        }
      }
    }
    return issues;
  }
  if (resolution?.ok) {
    // Narrowing keeps within the global product; its own checks (refinements) still hold.
    const tier = state.tier(r.spec.tier);
    const global = resolution.base;
    if (tier) {
      const again = validateResourceParameters({
        productId: global.id,
        product: global.spec,
        tierId: r.spec.tier,
        tier,
        params: checked.params,
      });
      if (!again.ok) issues.push(...again.issues);
    }
  }
  const manifest = state.project(project);
  if (!manifest) return issues;
  for (const check of resourceComplianceChecks({
    project: manifest.spec,
    ref: stringifyResourceRef(r.metadata),
    product: { id: product.id, spec: product.spec },
    params: checked.params,
    cell: { id: r.spec.cell, spec: state.cell(r.spec.cell) },
  })) {
    if (check.status !== 'fail') continue;
    issues.push({
      path: pathOfRule(check.rule, product),
      message: `${check.rule}: ${check.reason}`,
    });
  }
  return issues;
}

/** The field of a resource a failed rule is about. */
function pathOfRule(rule: string, product: KnownProduct): string {
  if (rule.endsWith('.encryption-at-rest')) {
    return `spec.params.${product.spec.features.encryption ?? 'encryption'}`;
  }
  if (rule.endsWith('.encryption-in-transit')) {
    const control = ownValue(transitEncryptionControls, product.id);
    return control ? `spec.params.${control.parameter}` : 'spec.params';
  }
  return 'spec.cell';
}

/** The effective definition as the API shows it. */
export function effectiveDefinitionView(resolution: {
  definition: EffectiveDefinition;
  base: KnownProduct;
}) {
  const { definition, base } = resolution;
  return {
    project: definition.project,
    id: definition.id,
    source: base.source,
    publish: definition.publish,
    chain: definition.chain,
    spec: definition.spec,
    fields: definitionFields(definition),
  };
}

/** The compliance report of a project: each rule, for the project and each resource. */
export function complianceReport(
  state: DesiredState,
  project: string,
  canRead: (r: ManifestOf<'Resource'>) => boolean,
) {
  const manifest = state.project(project);
  const checks: ComplianceCheck[] = manifest
    ? projectComplianceChecks(project, manifest.spec)
    : [];
  const resources: string[] = [];
  for (const r of state.each('Resource')) {
    if (r.metadata.namespace !== project || !canRead(r)) continue;
    resources.push(stringifyResourceRef(r.metadata));
    const product = state.product(r.spec.product, project);
    const tier = state.tier(r.spec.tier);
    if (!manifest || !product || !tier) continue;
    const checked = validateResourceParameters({
      productId: product.id,
      product: product.spec,
      tierId: r.spec.tier,
      tier,
      params: r.spec.params,
    });
    if (!checked.ok) continue; // an indexed resource validates; a stale one is not judged
    checks.push(
      ...resourceComplianceChecks({
        project: manifest.spec,
        ref: stringifyResourceRef(r.metadata),
        product: { id: product.id, spec: product.spec },
        params: checked.params,
        cell: { id: r.spec.cell, spec: state.cell(r.spec.cell) },
      }),
    );
  }
  const sla: Record<string, ReturnType<typeof effectiveSla>> = {};
  for (const tierId of tierIds) {
    const tier = state.tier(tierId);
    if (tier) sla[tierId] = effectiveSla(tierId, tier, manifest?.spec);
  }
  const count = (status: ComplianceCheck['status']) =>
    checks.filter(c => c.status === status).length;
  return {
    project,
    declared: !!manifest,
    regimes: manifest?.spec.compliance ?? [],
    approvals: manifest?.spec.approvals ?? {
      breaking: [],
      versionBump: [],
      config: [],
    },
    sla,
    resources,
    checks,
    summary: {
      pass: count('pass'),
      fail: count('fail'),
      unverified: count('unverified'),
    },
  };
}
