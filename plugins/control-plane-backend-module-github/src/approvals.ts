import { ProposedObject } from '@idp-multicloud/plugin-control-plane-node';

/** A rule of the approvals policy (see config.d.ts). */
export interface ApprovalRule {
  /** The kinds of object it applies to (default: resources). */
  kinds?: string[];
  tiers?: string[];
  namespaces?: string[];
  count: number;
  teams?: string[];
  fromOwner: boolean;
}

/** What a change needs: how many approvals, and teams each of which one approver must be in. */
export interface ApprovalRequirement {
  count: number;
  /** Each entry: one approval must come from a member of one of these team slugs. */
  teams: string[][];
}

const appliesTo = (rule: ApprovalRule, o: ProposedObject) =>
  (rule.kinds ?? ['Resource']).includes(o.kind) &&
  (o.kind !== 'Resource' ||
    ((!rule.tiers || (o.tier !== undefined && rule.tiers.includes(o.tier))) &&
      (!rule.namespaces || rule.namespaces.includes(o.namespace))));

/** The team slug of a catalog owner group: `group:default/payments` → `payments`. */
export function teamOf(owner: string): string {
  return owner.replace(/^group:/, '').replace(/^[^/]*\//, '');
}

/** Maps a catalog owner group to the GitHub team whose members review for it. */
export type TeamOf = (owner: string) => string;

/**
 * The GitHub teams of catalog groups, from their `github.com/team-slug` annotation (which
 * Backstage's GitHub org ingestion writes, `<org>/<slug>`): a group of another organisation,
 * or without the annotation, maps to its name.
 */
export function teamsFromCatalog(
  org: string,
  groups: {
    metadata: {
      name: string;
      namespace?: string;
      annotations?: Record<string, string>;
    };
  }[],
): TeamOf {
  const slugs = new Map<string, string>();
  for (const g of groups) {
    const annotation = g.metadata.annotations?.['github.com/team-slug'];
    const [owner, slug] = annotation?.split('/') ?? [];
    if (
      slug &&
      owner.toLocaleLowerCase('en-US') === org.toLocaleLowerCase('en-US')
    ) {
      slugs.set(
        `group:${g.metadata.namespace ?? 'default'}/${
          g.metadata.name
        }`.toLocaleLowerCase('en-US'),
        slug,
      );
    }
  }
  return owner => {
    const ref = owner.includes('/')
      ? owner
      : owner.replace(/^group:/, 'group:default/');
    return slugs.get(ref.toLocaleLowerCase('en-US')) ?? teamOf(owner);
  };
}

/**
 * What the approvals policy asks of a change: the most approvals any applying rule asks
 * (one when none applies), and each team requirement of the applying rules.
 */
export function requiredApprovals(
  rules: ApprovalRule[],
  objects: ProposedObject[],
  ownerTeam: TeamOf = teamOf,
): ApprovalRequirement {
  let count = 1;
  const teams: string[][] = [];
  const seen = new Set<string>();
  const add = (slugs: string[]) => {
    const key = [...slugs].sort().join(',');
    if (!seen.has(key)) {
      seen.add(key);
      teams.push(slugs);
    }
  };
  for (const o of objects) {
    for (const rule of rules) {
      if (!appliesTo(rule, o)) continue;
      count = Math.max(count, rule.count);
      if (rule.teams?.length) add(rule.teams);
      if (rule.fromOwner && o.owner?.startsWith('group:'))
        add([ownerTeam(o.owner)]);
    }
  }
  return { count: Math.max(count, teams.length), teams };
}

/**
 * A requirement with the approvals projects' own policies ask (their Project manifests): one
 * approval from a member of each group's GitHub team.
 */
export function withProjectApprovals(
  requirement: ApprovalRequirement,
  approvals: { groups: string[] }[],
  ownerTeam: TeamOf = teamOf,
): ApprovalRequirement {
  const teams = [...requirement.teams];
  const seen = new Set(teams.map(t => [...t].sort().join(',')));
  for (const group of approvals.flatMap(a => a.groups)) {
    const team = ownerTeam(group);
    if (!seen.has(team)) {
      seen.add(team);
      teams.push([team]);
    }
  }
  return { count: Math.max(requirement.count, teams.length), teams };
}

/** Whether the approvers meet a requirement; what is missing when they do not. */
export function approvalVerdict(
  requirement: ApprovalRequirement,
  approvers: string[],
  isMember: (team: string, user: string) => boolean,
): { met: boolean; missing: string[] } {
  const missing: string[] = [];
  if (approvers.length < requirement.count) {
    missing.push(
      `${requirement.count - approvers.length} more approval${
        requirement.count - approvers.length === 1 ? '' : 's'
      } (${approvers.length} of ${requirement.count})`,
    );
  }
  for (const slugs of requirement.teams) {
    if (!approvers.some(user => slugs.some(team => isMember(team, user)))) {
      missing.push(`an approval from a member of ${slugs.join(' or ')}`);
    }
  }
  return { met: missing.length === 0, missing };
}

/**
 * The approvals policy as a `CODEOWNERS` file: each resource's manifest owned by its owning
 * team (from the catalog owner group's name) and by the teams of the rules that apply to it,
 * as `@<org>/<team>`; most specific last, as GitHub reads it.
 */
export function codeownersFor(
  org: string,
  rules: ApprovalRule[],
  resources: { path: string; namespace: string; owner: string; tier: string }[],
  ownerTeam: TeamOf = teamOf,
): string {
  const lines = [
    '# Generated by the IDP control plane from catalog ownership and',
    '# controlPlane.github.approvals: a proposed change rewrites it.',
  ];
  // other kinds' folders (products/ for definitions), owned by the teams their rules name
  const folders: Record<string, string> = {
    Product: 'products',
    Tier: 'tiers',
    Cell: 'cells',
    Provider: 'providers',
    Cluster: 'clusters',
    Quota: 'quotas',
    Policy: 'policies',
  };
  for (const [kind, folder] of Object.entries(folders)) {
    const teams = new Set(
      rules
        .filter(rule => rule.kinds?.includes(kind))
        .flatMap(rule => rule.teams ?? []),
    );
    if (teams.size > 0) {
      lines.push(
        `/${folder}/ ${[...teams].map(t => `@${org}/${t}`).join(' ')}`,
      );
    }
  }
  for (const r of [...resources].sort((a, b) => a.path.localeCompare(b.path))) {
    const teams = new Set<string>();
    if (r.owner.startsWith('group:')) teams.add(ownerTeam(r.owner));
    for (const rule of rules) {
      const applies =
        (rule.kinds ?? ['Resource']).includes('Resource') &&
        (!rule.tiers || rule.tiers.includes(r.tier)) &&
        (!rule.namespaces || rule.namespaces.includes(r.namespace));
      if (applies) for (const t of rule.teams ?? []) teams.add(t);
    }
    if (teams.size > 0) {
      lines.push(`/${r.path} ${[...teams].map(t => `@${org}/${t}`).join(' ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
