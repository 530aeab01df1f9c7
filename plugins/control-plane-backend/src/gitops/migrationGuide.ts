import {
  approversFor,
  ObjectKey,
  ProductSpec,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { DesiredState } from './DesiredState';
import {
  affectedBy,
  compareDefinitions,
  DefinitionFinding,
  DefinitionFindingCode,
} from './definitionChanges';

/** A resource a breaking change of its definition reaches, and which findings reach it. */
export interface AffectedResource {
  ref: string;
  /** Its project (namespace). */
  project: string;
  owner: string;
  component?: string;
  /** The codes of the findings that reach it. */
  findings: DefinitionFindingCode[];
}

/** What a change of one product definition does, and to whom. */
export interface DefinitionImpact {
  /** The product's id. */
  product: string;
  /**
   * The project whose own definition of it (`projects/<project>/products/<id>.yaml`) this is
   * about; absent for the global definition.
   */
  project?: string;
  /** The object whose change made it: the product's or the project definition's manifest. */
  source: ObjectKey;
  findings: DefinitionFinding[];
  /** Resources reached by a breaking finding; projects, components and owners among them. */
  affected: {
    resources: AffectedResource[];
    projects: string[];
    components: string[];
    owners: string[];
  };
}

/** `product:mysql`, or `projectproduct:payments/mysql` for a project's own definition. */
export const impactRef = (i: Pick<DefinitionImpact, 'product' | 'project'>) =>
  i.project
    ? `projectproduct:${i.project}/${i.product}`
    : `product:${i.product}`;

const definitionKinds = new Set(['Product', 'ProjectProduct']);

/**
 * Whether an impact breaks resources that exist: a breaking finding that reaches at least
 * one. Only those need acknowledgement, review and approval, are recorded and notified; a
 * breaking finding nobody is reached by is shown in plans, and changes nothing else.
 */
export const breaksResources = (i: DefinitionImpact) =>
  i.affected.resources.length > 0 && i.findings.some(f => f.breaking);

/**
 * Who must approve breaking changes, by the policy of each project they affect (its Project
 * manifest's `approvals.breaking`); projects without such a policy are left out.
 */
export function breakingApprovals(
  state: DesiredState,
  impacts: DefinitionImpact[],
): { project: string; groups: string[] }[] {
  const projects = new Set(
    impacts.filter(breaksResources).flatMap(i => i.affected.projects),
  );
  return [...projects]
    .sort()
    .map(project => ({
      project,
      groups: approversFor(state.project(project)?.spec, 'breaking'),
    }))
    .filter(a => a.groups.length > 0);
}

const uniqueSorted = (values: (string | undefined)[]) =>
  [...new Set(values.filter((v): v is string => !!v))].sort();

/** Affected resources, sorted, with the projects, components and owners among them. */
export function summarize(
  resources: AffectedResource[],
): DefinitionImpact['affected'] {
  const sorted = [...resources].sort((a, b) => a.ref.localeCompare(b.ref));
  return {
    resources: sorted,
    projects: uniqueSorted(sorted.map(r => r.project)),
    components: uniqueSorted(sorted.map(r => r.component)),
    owners: uniqueSorted(sorted.map(r => r.owner)),
  };
}

/** `2 resources in orders, payments (owners group:…, group:…)`, for messages. */
export function reachOf(resources: AffectedResource[]): string {
  const { projects, owners } = summarize(resources);
  return `${resources.length} resource${
    resources.length === 1 ? '' : 's'
  } in ${projects.join(', ')} (owners ${owners.join(', ')})`;
}

/** An impact's breaking findings, `parameter.removed highAvailability; …`, for messages. */
export const breakingFindingsOf = (i: DefinitionImpact) =>
  i.findings
    .filter(f => f.breaking)
    .map(f => `${f.code} ${f.subject}`)
    .join('; ');

/**
 * The product definitions a change touches, compared before and after as each project sees
 * them (a definition removed from the state repository falls back to the module's or built-in
 * one, a project's own to the global one): one impact for the global definition and one for
 * each project with a definition of its own, with the resources each breaking finding
 * reaches among those using the product before the change.
 */
export function definitionImpacts(
  before: DesiredState,
  after: DesiredState,
  changed: ObjectKey[],
  removed: ObjectKey[],
): DefinitionImpact[] {
  const touched = [...changed, ...removed].filter(k =>
    definitionKinds.has(k.kind),
  );
  if (touched.length === 0) return [];
  /** Changed global products, and changed project definitions by project and id. */
  const globals = new Set(
    touched.filter(k => k.kind === 'Product').map(k => k.name),
  );
  const own = new Set(
    touched
      .filter(k => k.kind === 'ProjectProduct')
      .map(k => `${k.namespace}/${k.name}`),
  );
  const impacts = new Map<
    string,
    { impact: DefinitionImpact; was: ProductSpec; now: ProductSpec }
  >();
  /** The impact of `id` as project `project` sees it (undefined: unchanged or new). */
  const impactFor = (id: string, project: string | undefined) => {
    const wasProduct = before.product(id, project);
    const nowProduct = after.product(id, project);
    const ownDefinition = wasProduct?.project ?? nowProduct?.project;
    const key = ownDefinition ? `${ownDefinition}/${id}` : id;
    if (!impacts.has(key)) {
      // a new product breaks nothing; one gone altogether is `product.removed`
      if (!wasProduct || !nowProduct) return undefined;
      const findings = compareDefinitions(wasProduct.spec, nowProduct.spec);
      impacts.set(key, {
        impact: {
          product: id,
          ...(ownDefinition ? { project: ownDefinition } : {}),
          source: own.has(key)
            ? { kind: 'ProjectProduct', namespace: ownDefinition!, name: id }
            : { kind: 'Product', namespace: 'default', name: id },
          findings,
          affected: { resources: [], projects: [], components: [], owners: [] },
        },
        was: wasProduct.spec,
        now: nowProduct.spec,
      });
    }
    return impacts.get(key);
  };
  for (const id of globals) impactFor(id, undefined);
  for (const key of own) {
    const [project, id] = key.split('/');
    impactFor(id, project);
  }
  for (const r of before.each('Resource')) {
    const project = r.metadata.namespace;
    const { product } = r.spec;
    if (!globals.has(product) && !own.has(`${project}/${product}`)) continue;
    const entry = impactFor(product, project);
    if (!entry) continue;
    const reached = entry.impact.findings.filter(f =>
      affectedBy(
        f,
        {
          tier: r.spec.tier,
          params: (r.spec.params ?? {}) as Record<string, unknown>,
        },
        entry.was,
        entry.now,
      ),
    );
    if (reached.length === 0) continue;
    entry.impact.affected.resources.push({
      ref: stringifyResourceRef(r.metadata),
      project,
      owner: r.spec.owner,
      ...(r.spec.component ? { component: r.spec.component } : {}),
      findings: [...new Set(reached.map(f => f.code))],
    });
  }
  return [...impacts.values()]
    .map(({ impact }) => impact)
    .filter(i => i.findings.length > 0)
    .map(i => ({ ...i, affected: summarize(i.affected.resources) }));
}

/** What to do about each kind of breaking finding: the guide's steps, rule by rule. */
const steps: Partial<
  Record<
    DefinitionFindingCode,
    (f: DefinitionFinding, product: string) => string
  >
> = {
  'parameter.removed': f =>
    `Take \`${
      f.subject
    }\` out of each affected resource's \`spec.params\`: once the definition changes, a resource that sets it is refused. Resources that relied on it${
      f.before !== undefined
        ? ` (its default was \`${JSON.stringify(f.before)}\`)`
        : ''
    } lose what it configured; ask the definition's owners what replaces it.`,
  'parameter.required': f =>
    `Set \`${f.subject}\` on each affected resource before the change lands (\`idp update <resource> -p ${f.subject}=<value>\`).`,
  'parameter.type-changed': f =>
    `Rewrite \`${f.subject}\` as ${JSON.stringify(
      f.after,
    )} on each affected resource that sets it.`,
  'parameter.values-removed': f =>
    `Move each affected resource's \`${f.subject}\` off ${
      Array.isArray(f.before)
        ? (f.before as unknown[])
            .map(v => `\`${JSON.stringify(v)}\``)
            .join(', ')
        : 'the removed values'
    } to a value the definition still accepts.`,
  'version.removed': (f, product) =>
    `Upgrade each affected ${product} to a version still offered (\`idp ops upgrade-version <resource> --version <version>\`); the upgrade runs as a deployment, with the resource's rollout strategy. Versions no longer offered: ${
      Array.isArray(f.before) ? (f.before as unknown[]).join(', ') : ''
    }.`,
  'parameter.range-narrowed': f =>
    `Bring \`${f.subject}\` within the new bound (${f.bound} ${JSON.stringify(
      f.after,
    )}) on each affected resource.`,
  'parameter.default-changed': f =>
    `Each affected resource leaves \`${
      f.subject
    }\` out and gets \`${JSON.stringify(
      f.after,
    )}\` instead of \`${JSON.stringify(
      f.before,
    )}\`: to keep today's behaviour, set \`${f.subject}=${JSON.stringify(
      f.before,
    )}\` on it explicitly before the change lands.`,
  'tier.removed': (f, product) =>
    `Move each affected resource from tier ${f.subject} to another tier ${product} offers (\`idp update <resource> --tier <tier>\`).`,
  'operation.removed': f =>
    `Runbooks, scripts and pipelines that run \`${f.subject}\` on these resources stop working: remove or replace them.`,
  'dependency.removed': (f, product) =>
    `A ${product} may no longer depend on a ${f.subject}: remove those entries from \`spec.dependsOn\`.`,
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

/**
 * A migration guide in Markdown for the breaking changes of one definition: what changed,
 * who is affected (project, resource, component, owner, why), and the steps, one per
 * finding, from the rule table above; the changes that break nothing listed after.
 */
export function migrationGuide(
  impact: DefinitionImpact,
  context: { commit?: string; actor?: string } = {},
): string {
  const breaking = impact.findings.filter(f => f.breaking);
  const other = impact.findings.filter(f => !f.breaking);
  const { affected: a } = impact;
  const lines = [
    `# Migration guide: ${
      impact.project
        ? `product ${impact.product} in project ${impact.project}`
        : `product ${impact.product}`
    }`,
    '',
    `${[
      `${breaking.length} breaking change${breaking.length === 1 ? '' : 's'}`,
      context.commit ? `in commit ${context.commit.slice(0, 12)}` : undefined,
      context.actor ? `by ${context.actor}` : undefined,
    ]
      .filter(Boolean)
      .join(' ')}; ${a.resources.length} resource${
      a.resources.length === 1 ? '' : 's'
    } affected in ${a.projects.length} project${
      a.projects.length === 1 ? '' : 's'
    } (${a.projects.join(', ') || 'none'}).`,
    '',
    '## What changed',
    '',
    ...breaking.map(f => `- **${f.code}** \`${f.subject}\`: ${f.message}`),
    '',
    '## Who is affected',
    '',
  ];
  if (a.resources.length === 0) {
    lines.push('No resource uses what changes.');
  } else {
    lines.push(
      '| project | resource | component | owner | because of |',
      '| --- | --- | --- | --- | --- |',
      ...a.resources.map(
        r =>
          `| ${cell(r.project)} | \`${cell(r.ref)}\` | ${cell(
            r.component ?? '',
          )} | ${cell(r.owner)} | ${r.findings.join(', ')} |`,
      ),
    );
  }
  lines.push('', '## Steps', '');
  breaking.forEach((f, i) => {
    const step = steps[f.code]?.(f, impact.product) ?? f.message;
    const reached = a.resources.filter(r => r.findings.includes(f.code));
    lines.push(
      `${i + 1}. ${step}${
        reached.length > 0
          ? ` Affected: ${reached.map(r => `\`${r.ref}\``).join(', ')}.`
          : ''
      }`,
    );
  });
  if (other.length > 0) {
    lines.push(
      '',
      '## Changes that break nothing',
      '',
      ...other.map(f => `- ${f.code} \`${f.subject}\`: ${f.message}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
