import {
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
  findings: DefinitionFinding[];
  /** Resources reached by a breaking finding; projects, components and owners among them. */
  affected: {
    resources: AffectedResource[];
    projects: string[];
    components: string[];
    owners: string[];
  };
}

/**
 * The product definitions whose manifests differ between two states (a change's before and
 * after), for callers that know the states but not the change.
 */
export function changedProducts(
  before: DesiredState,
  after: DesiredState,
): ObjectKey[] {
  const ids = new Set([
    ...before.ofKind('Product').map(p => p.metadata.name),
    ...after.ofKind('Product').map(p => p.metadata.name),
  ]);
  return [...ids]
    .filter(id => before.get('Product', id) !== after.get('Product', id))
    .map(name => ({ kind: 'Product' as const, namespace: 'default', name }));
}

const uniqueSorted = (values: (string | undefined)[]) =>
  [...new Set(values.filter((v): v is string => !!v))].sort();

/**
 * The product definitions a change touches, compared before and after (a definition removed
 * from the state repository falls back to the module's or built-in one, if any), with the
 * resources each breaking finding reaches among those using the product before the change.
 */
export function definitionImpacts(
  before: DesiredState,
  after: DesiredState,
  changed: ObjectKey[],
  removed: ObjectKey[],
): DefinitionImpact[] {
  const impacts: DefinitionImpact[] = [];
  for (const key of [...changed, ...removed]) {
    if (key.kind !== 'Product') continue;
    const was = before.product(key.name)?.spec;
    const now = after.product(key.name)?.spec;
    // a new product breaks nothing; one gone altogether is `product.removed`
    if (!was || !now) continue;
    const findings = compareDefinitions(was, now);
    if (findings.length === 0) continue;
    impacts.push({
      product: key.name,
      findings,
      affected: affected(before, key.name, findings, was, now),
    });
  }
  return impacts;
}

function affected(
  state: DesiredState,
  product: string,
  findings: DefinitionFinding[],
  before: ProductSpec,
  after: ProductSpec,
): DefinitionImpact['affected'] {
  const resources: AffectedResource[] = [];
  for (const r of state.each('Resource')) {
    if (r.spec.product !== product) continue;
    const reached = findings.filter(f =>
      affectedBy(
        f,
        {
          tier: r.spec.tier,
          params: (r.spec.params ?? {}) as Record<string, unknown>,
        },
        before,
        after,
      ),
    );
    if (reached.length === 0) continue;
    resources.push({
      ref: stringifyResourceRef(r.metadata),
      project: r.metadata.namespace,
      owner: r.spec.owner,
      ...(r.spec.component ? { component: r.spec.component } : {}),
      findings: [...new Set(reached.map(f => f.code))],
    });
  }
  resources.sort((a, b) => a.ref.localeCompare(b.ref));
  return {
    resources,
    projects: uniqueSorted(resources.map(r => r.project)),
    components: uniqueSorted(resources.map(r => r.component)),
    owners: uniqueSorted(resources.map(r => r.owner)),
  };
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
    `# Migration guide: product ${impact.product}`,
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
