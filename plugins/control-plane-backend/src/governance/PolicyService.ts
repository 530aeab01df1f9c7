import { CustomErrorBase } from '@backstage/errors';
import {
  ManifestOf,
  PolicySpec,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  PolicyDecision,
  PolicyEvaluator,
  PolicyInput,
  PolicyResource,
  PolicyViolation,
} from '@idp-multicloud/plugin-control-plane-node';
import { DateTime } from 'luxon';
import { AuditEntry, AuditLog } from '../audit/AuditLog';
import { Admission } from '../gitops/ChangeService';
import { DesiredState } from '../gitops/DesiredState';
import { digestOf } from '../database/util';
import { ResourceStore } from '../resources/ResourceStore';
import { Pricing } from '../scheduling/pricing';
import { quotaViolations } from '../scheduling/quotaCheck';
import {
  Countable,
  countableOf,
  noShare,
  quotaApplies,
  quotaUsages,
  shareOf,
  subtractShares,
} from './usage';

/**
 * A request refused by policy: 403, or 422 for quotas and budgets (named
 * `QuotaExceededError` then, which the SDK turns into its quota error).
 */
export class PolicyDeniedError extends CustomErrorBase {
  name: string;
  statusCode: number;
  violations: PolicyViolation[];

  constructor(violations: PolicyViolation[]) {
    super(violations.map(v => v.message).join('; '));
    this.violations = violations;
    const quota = violations.some(v => v.code.startsWith('quota.'));
    this.name = quota ? 'QuotaExceededError' : 'PolicyDeniedError';
    this.statusCode = violations.some(v => (v.status ?? 403) === 422)
      ? 422
      : 403;
  }
}

function policyApplies(policy: PolicySpec, r: PolicyResource): boolean {
  const { teams, namespaces } = policy.subjects ?? {};
  if (!teams && !namespaces) return true;
  return (
    (teams ?? []).some(t => t.toLocaleLowerCase('en-US') === r.owner) ||
    (namespaces ?? []).includes(r.namespace)
  );
}

/**
 * The built-in evaluator: quotas and budgets (limits a request's own share would break),
 * and the Policy manifests of the state repository (allowed products, tiers and cells). A
 * policy refuses what a request would newly get: a product on create, a tier or cell on any
 * change that sets it. Operating or deleting what one already has is not refused by it.
 */
export const builtInPolicyEvaluator: PolicyEvaluator = {
  id: 'built-in',
  async evaluate(input: PolicyInput): Promise<PolicyDecision> {
    const violations: PolicyViolation[] = quotaViolations(input.quotas).map(
      v => ({ code: v.code, message: v.message, status: 422 as const }),
    );
    const reasons: string[] = [];
    const r = input.resource;
    const before = input.previous;
    for (const [name, raw] of Object.entries(input.policies)) {
      const policy = raw as PolicySpec;
      if (!policyApplies(policy, r)) continue;
      const refuse = (code: string, field: string, what: string) =>
        violations.push({
          code,
          field,
          message: `policy ${name} does not allow ${what} for ${r.owner}`,
        });
      if (
        !before &&
        ((policy.products?.allow &&
          !policy.products.allow.includes(r.product)) ||
          policy.products?.deny?.includes(r.product))
      ) {
        refuse('product.notAllowed', 'product', `product ${r.product}`);
      }
      if (
        before?.tier !== r.tier &&
        policy.tiers &&
        !policy.tiers.allow.includes(r.tier)
      ) {
        refuse('tier.notAllowed', 'tier', `tier ${r.tier}`);
      }
      if (
        before?.cell !== r.cell &&
        policy.cells &&
        !policy.cells.allow.includes(r.cell)
      ) {
        refuse('cell.notAllowed', 'cell', `cell ${r.cell}`);
      }
      reasons.push(`policy ${name} applies`);
    }
    for (const q of input.quotas) {
      reasons.push(`within quota ${q.quota}`);
    }
    return { allowed: violations.length === 0, violations, reasons };
  },
};

function policyResource(m: ManifestOf<'Resource'>): PolicyResource {
  return {
    ref: stringifyResourceRef(m.metadata),
    namespace: m.metadata.namespace,
    name: m.metadata.name,
    product: m.spec.product,
    owner: m.spec.owner,
    ...(m.spec.component ? { component: m.spec.component } : {}),
    tier: m.spec.tier,
    cell: m.spec.cell,
    params: m.spec.params,
    dependsOn: m.spec.dependsOn,
    labels: m.metadata.labels ?? {},
  };
}

/** A change to desired state as policy decides on it (an admission, without its request id). */
export type PolicyChange = Omit<Admission, 'requestId'>;

/**
 * Decides, before anything is committed, whether a change to desired state may go ahead:
 * every installed evaluator (the built-in one first) must allow each resource it creates,
 * changes or deletes, and each operation. Every decision, with its reasons, goes to the
 * audit log.
 */
export class PolicyService {
  private readonly evaluators: PolicyEvaluator[];

  constructor(
    private readonly options: {
      /** Where resources run (quotas and budgets count them); none offline (`idp validate`). */
      resources: Pick<ResourceStore, 'placedProviders'>;
      audit: Pick<AuditLog, 'appendMany'>;
      pricing: Pricing;
      evaluators?: PolicyEvaluator[];
    },
  ) {
    this.evaluators = [builtInPolicyEvaluator, ...(options.evaluators ?? [])];
  }

  /**
   * The input document of a decision about `manifest` in the state `next`; for a delete,
   * `manifest` is the resource as it was (and `next` no longer has it).
   */
  async input(options: {
    action: string;
    actor: string;
    before: DesiredState;
    next: DesiredState;
    manifest: ManifestOf<'Resource'>;
    operation?: { type: string; params: Record<string, unknown> };
    placements?: Map<string, string>;
  }): Promise<PolicyInput> {
    const { before, next, manifest } = options;
    const deleting = options.action === 'resource.delete';
    const { pricing } = this.options;
    const state = deleting ? before : next;
    // Quotas count every resource in their scope: read only when one applies.
    const quotaApplying = state
      .ofKind('Quota')
      .some(q => quotaApplies(q.spec, countableOf(manifest)));
    const placements =
      options.placements ??
      (await this.options.resources.placedProviders(
        quotaApplying ? undefined : [manifest.metadata],
      ));
    const ref = stringifyResourceRef(manifest.metadata);
    const key = `${manifest.metadata.namespace}/${manifest.metadata.name}`;
    const previous = before.resource(ref);
    const countable = (m: ManifestOf<'Resource'>): Countable =>
      countableOf(
        m,
        placements.get(`${m.metadata.namespace}/${m.metadata.name}`),
      );
    const self = countable(manifest);
    const after = deleting ? noShare : shareOf(pricing, next, self);
    const share = subtractShares(
      after,
      previous ? shareOf(pricing, before, countable(previous)) : noShare,
    );
    // What is in use counts the resource as it is now; the request adds the difference.
    const others = quotaApplying
      ? [
          ...next
            .ofKind('Resource')
            .filter(m => `${m.metadata.namespace}/${m.metadata.name}` !== key)
            .map(countable),
          ...(previous ? [countable(previous)] : []),
        ]
      : [];
    // The resource's project's definition: its tiers are what the project allows.
    const product = state.product(
      manifest.spec.product,
      manifest.metadata.namespace,
    );
    const tier = state.tier(manifest.spec.tier);
    const cell = state.cell(manifest.spec.cell);
    return {
      action: options.action,
      actor: { ref: options.actor },
      resource: policyResource(manifest),
      ...(previous ? { previous: policyResource(previous) } : {}),
      ...(options.operation ? { operation: options.operation } : {}),
      product: {
        id: manifest.spec.product,
        category: product?.spec.category ?? 'unknown',
        tiers: product?.spec.tiers ?? [],
        operations: product?.spec.operations ?? [],
      },
      tier: {
        id: manifest.spec.tier,
        requiredFeatures: {
          backups: !!tier?.requiredFeatures.backups,
          multiAZ: !!tier?.requiredFeatures.multiAZ,
          encryption: !!tier?.requiredFeatures.encryption,
        },
        sla: {
          availability: tier?.sla.availability ?? 0,
          p99LatencyMs: tier?.sla.p99LatencyMs ?? 0,
          rtoMinutes: tier?.sla.rtoMinutes ?? 0,
          rpoMinutes: tier?.sla.rpoMinutes ?? 0,
        },
      },
      cell: {
        id: manifest.spec.cell,
        geo: cell?.geo ?? 'unknown',
        ...(cell?.dataResidency ? { dataResidency: cell.dataResidency } : {}),
      },
      // A quota the resource was outside of (it changes team, cell or namespace) gets all
      // of it; one it was in, the difference.
      quotas: quotaUsages(pricing, state, self, share, others).map(q =>
        previous && !quotaApplies(q, countable(previous))
          ? { ...q, request: after }
          : q,
      ),
      cost: { monthly: after.monthlyCost, currency: 'USD' },
      policies: Object.fromEntries(
        next.ofKind('Policy').map(p => [p.metadata.name, p.spec]),
      ),
      time: DateTime.utc().toISO()!,
    };
  }

  /** Runs every evaluator; an evaluator that fails refuses (503 is not an answer). */
  async evaluate(
    input: PolicyInput,
  ): Promise<PolicyDecision & { reasons: string[]; by: string[] }> {
    const violations: PolicyViolation[] = [];
    const reasons: string[] = [];
    for (const evaluator of this.evaluators) {
      const decision = await evaluator.evaluate(input);
      violations.push(...decision.violations);
      reasons.push(
        ...(decision.reasons ?? []).map(r => `${evaluator.id}: ${r}`),
      );
      if (!decision.allowed && decision.violations.length === 0) {
        violations.push({
          code: 'policy.denied',
          message: `${evaluator.id} denied ${input.action} of ${input.resource.ref}`,
        });
      }
    }
    return {
      allowed: violations.length === 0,
      violations,
      reasons,
      by: this.evaluators.map(e => e.id),
    };
  }

  /**
   * The decision about each resource a change creates, changes or deletes, and about the
   * resource an operation acts on (even when the operation changes nothing in Git).
   */
  private async decide(change: PolicyChange) {
    const ref = (m: ManifestOf<'Resource'>) => stringifyResourceRef(m.metadata);
    const subjects: {
      action: string;
      manifest: ManifestOf<'Resource'>;
      operation?: PolicyChange['operation'];
    }[] = [];
    for (const m of change.put) {
      const old = change.before.resource(ref(m));
      if (change.operation) {
        subjects.push({
          action: `resource.${change.operation.type}`,
          manifest: m,
          operation: change.operation,
        });
      } else if (!old || digestOf(old) !== digestOf(m)) {
        subjects.push({
          action: old ? 'resource.update' : 'resource.create',
          manifest: m,
        });
      }
    }
    for (const m of change.removed) {
      if (!change.next.resource(ref(m))) {
        subjects.push({ action: 'resource.delete', manifest: m });
      }
    }
    if (subjects.length === 0) return [];
    const quotas = [
      ...change.before.each('Quota'),
      ...change.next.each('Quota'),
    ];
    const placements = await this.options.resources.placedProviders(
      quotas.length > 0 ? undefined : subjects.map(s => s.manifest.metadata),
    );
    const decisions = [];
    for (const subject of subjects) {
      const input = await this.input({ ...change, ...subject, placements });
      decisions.push({ input, decision: await this.evaluate(input) });
    }
    return decisions;
  }

  /**
   * What admission would refuse of a change, each refusal with the resource it is about;
   * records nothing (a plan).
   */
  async review(
    change: PolicyChange,
  ): Promise<(PolicyViolation & { ref: string })[]> {
    return (await this.decide(change)).flatMap(({ input, decision }) =>
      decision.violations.map(v => ({ ...v, ref: input.resource.ref })),
    );
  }

  /**
   * The admission check of a change: each created or changed resource is decided; the
   * first refusal throws, after every decision was audited: appended here, or handed to
   * `record` to be appended with others (a batch of changes records its decisions at once).
   */
  async admit(
    change: Admission,
    record?: (entries: AuditEntry[]) => void,
  ): Promise<void> {
    const decisions = await this.decide(change);
    const entries: AuditEntry[] = decisions.map(({ input, decision }) => ({
      actor: change.actor,
      action: 'policy.decision',
      target: input.resource.ref,
      outcome: decision.allowed ? 'accepted' : 'rejected',
      reason: `${input.action} by ${decision.by.join(', ')}: ${
        decision.allowed
          ? decision.reasons.join('; ') || 'no rule applies'
          : decision.violations.map(v => `[${v.code}] ${v.message}`).join('; ')
      }`.slice(0, 2000),
      requestId: change.requestId,
    }));
    if (record) record(entries);
    else await this.options.audit.appendMany(entries);
    const refused = decisions.flatMap(({ decision }) => decision.violations);
    if (refused.length > 0) throw new PolicyDeniedError(refused);
  }
}
