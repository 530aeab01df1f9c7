import { ProposedObject } from '@idp-multicloud/plugin-control-plane-node';

/** A rule of the approvals policy (see config.d.ts). */
export interface ApprovalRule {
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
  o.kind === 'Resource' &&
  (!rule.tiers || (o.tier !== undefined && rule.tiers.includes(o.tier))) &&
  (!rule.namespaces || rule.namespaces.includes(o.namespace));

/** The team slug of a catalog owner group: `group:default/payments` → `payments`. */
export function teamOf(owner: string): string {
  return owner.replace(/^group:/, '').replace(/^[^/]*\//, '');
}

/**
 * What the approvals policy asks of a change: the most approvals any applying rule asks
 * (one when none applies), and each team requirement of the applying rules.
 */
export function requiredApprovals(
  rules: ApprovalRule[],
  objects: ProposedObject[],
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
        add([teamOf(o.owner)]);
    }
  }
  return { count: Math.max(count, teams.length), teams };
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
