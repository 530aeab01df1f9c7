import { z } from 'zod';
import { CellSpec } from './fleet';
import { ownValue } from './lookup';
import { nameSchema, ownerRefSchema } from './names';
import { ProductSpec } from './products';
import { TierId, tierIds, TierSpec } from './tiers';

/*
 * Governance as data: a project's `projects/<project>/project.yaml` (kind `Project`) says
 * which compliance regimes apply to it, who approves which kind of change, and the SLA it
 * promises per criticality. What each regime requires is the table below; the control plane
 * enforces it at validation (every path: API, git push, `idp validate`), naming the rule.
 */

/**
 * The compliance regimes a project may be subject to.
 * @public
 */
export const complianceRegimes = ['pci-dss', 'hipaa', 'gdpr'] as const;

/**
 * A compliance regime.
 * @public
 */
export type ComplianceRegime = (typeof complianceRegimes)[number];

/**
 * What a compliance regime requires of a project and its resources.
 * @public
 */
export interface ComplianceRequirements {
  title: string;
  /** Every resource that stores data encrypts it at rest. */
  encryptionAtRest: boolean;
  /** Every resource encrypts connections to it. */
  encryptionInTransit: boolean;
  /** The project keeps its audit records at least this long (`spec.audit.retentionDays`). */
  auditRetentionDays?: number;
  /** Every resource runs in cells whose data stays in this jurisdiction. */
  dataResidency?: string;
}

/**
 * What each regime requires (a summary of the obligations the platform can check).
 * @public
 */
export const complianceRequirements: Record<
  ComplianceRegime,
  ComplianceRequirements
> = {
  'pci-dss': {
    title: 'PCI-DSS',
    encryptionAtRest: true, // requirement 3.5: stored account data is protected
    encryptionInTransit: true, // requirement 4.2: strong cryptography over networks
    auditRetentionDays: 365, // requirement 10.5.1: at least 12 months
  },
  hipaa: {
    title: 'HIPAA',
    encryptionAtRest: true, // § 164.312(a)(2)(iv)
    encryptionInTransit: true, // § 164.312(e)(1)
    auditRetentionDays: 6 * 365, // § 164.316(b)(2): six years
  },
  gdpr: {
    title: 'GDPR',
    encryptionAtRest: false,
    encryptionInTransit: false,
    dataResidency: 'EU', // Chapter V: no transfers out of the EU by default
  },
};

/**
 * How a product encrypts connections: the parameter (a dotted path) and the value that turns
 * it on. Products absent here have no setting the control plane can check; their rule is
 * reported unverified, never passed.
 * @public
 */
export const transitEncryptionControls: Record<
  string,
  { parameter: string; value: unknown }
> = {
  // MySQL refuses unencrypted connections with this server variable on.
  mysql: { parameter: 'parameters.require_secure_transport', value: 'ON' },
  // Redis' encryption parameter is TLS in transit and encryption at rest.
  redis: { parameter: 'encryption', value: true },
};

const supportHours = z.enum(['24/7', 'business']);

/**
 * The SLA a project promises for one criticality tier: each target at most what the tier
 * itself targets (a project cannot promise more than its platform), and support hours.
 * @public
 */
export const projectSlaSchema = z
  .object({
    availability: z.number().min(90).max(100).optional(),
    p99LatencyMs: z.number().int().positive().optional(),
    rtoMinutes: z.number().int().nonnegative().optional(),
    rpoMinutes: z.number().int().nonnegative().optional(),
    supportHours: supportHours.optional(),
  })
  .strict();

const approvers = z
  .array(ownerRefSchema)
  .default([])
  .describe('groups (or users) whose approval the change needs');

/**
 * A project (`projects/<project>/project.yaml`, kind `Project`): its compliance regimes and
 * governance. The project is the namespace of the same name.
 * @public
 */
export const projectSpecSchema = z
  .object({
    title: z.string().min(1).optional(),
    description: z.string().optional(),
    system: z
      .string()
      .regex(
        /^system:([a-z0-9][-a-z0-9_.]{0,62}\/)?[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$/,
        'must be a system entity ref, e.g. system:default/payments',
      )
      .optional()
      .describe('the catalog System the project is'),
    owner: ownerRefSchema.optional(),
    compliance: z
      .array(z.enum(complianceRegimes))
      .default([])
      .describe('the compliance regimes that apply: pci-dss, hipaa, gdpr'),
    audit: z
      .object({
        retentionDays: z
          .number()
          .int()
          .positive()
          .describe('how long the project keeps its audit records'),
      })
      .strict()
      .optional(),
    cells: z
      .array(nameSchema)
      .min(1)
      .optional()
      .describe(
        "the cells the project's resources may run in (all when left out)",
      ),
    approvals: z
      .object({
        breaking: approvers,
        versionBump: approvers,
        config: approvers,
      })
      .strict()
      .default({ breaking: [], versionBump: [], config: [] })
      .describe('who must approve each kind of change to the project'),
    sla: z
      .partialRecord(z.enum(tierIds), projectSlaSchema)
      .default({})
      .describe('the SLA the project promises per criticality tier'),
  })
  .strict();

/**
 * A project's spec.
 * @public
 */
export type ProjectSpec = z.output<typeof projectSpecSchema>;

/**
 * The kinds of change an approval policy distinguishes.
 * @public
 */
export type ChangeKind = keyof ProjectSpec['approvals'];

/**
 * Who must approve a kind of change to a project (none when it has no policy).
 * @public
 */
export function approversFor(
  project: ProjectSpec | undefined,
  kind: ChangeKind,
): string[] {
  return project?.approvals[kind] ?? [];
}

/**
 * The outcome of one rule for one subject.
 * @public
 */
export interface ComplianceCheck {
  /** e.g. `compliance.pci-dss.encryption-at-rest`, `project.cells`. */
  rule: string;
  /** `project:<name>` or `resource:<namespace>/<name>`. */
  subject: string;
  status: 'pass' | 'fail' | 'unverified';
  reason: string;
}

const defaultSupportHours: Record<TierId, '24/7' | 'business'> = {
  critical: '24/7',
  high: '24/7',
  medium: 'business',
  low: 'business',
};

/**
 * The SLA of one tier in a project: each target, and whether it is the tier's or the
 * project's own.
 * @public
 */
export function effectiveSla(
  tierId: TierId,
  tier: TierSpec,
  project: ProjectSpec | undefined,
): Record<
  | 'availability'
  | 'p99LatencyMs'
  | 'rtoMinutes'
  | 'rpoMinutes'
  | 'supportHours',
  { value: number | string; from: 'tier' | 'project' | 'default' }
> {
  const own = project ? ownValue(project.sla, tierId) : undefined;
  const target = <
    K extends 'availability' | 'p99LatencyMs' | 'rtoMinutes' | 'rpoMinutes',
  >(
    key: K,
  ) =>
    own?.[key] !== undefined
      ? { value: own[key]!, from: 'project' as const }
      : { value: tier.sla[key], from: 'tier' as const };
  return {
    availability: target('availability'),
    p99LatencyMs: target('p99LatencyMs'),
    rtoMinutes: target('rtoMinutes'),
    rpoMinutes: target('rpoMinutes'),
    supportHours: own?.supportHours
      ? { value: own.supportHours, from: 'project' }
      : { value: defaultSupportHours[tierId], from: 'default' },
  };
}

/**
 * What a project's SLA promises beyond what its tiers target: a higher availability, a lower
 * p99, RTO or RPO than the tier's. Paths under `spec.`.
 * @public
 */
export function slaIssues(
  project: ProjectSpec,
  tier: (id: TierId) => TierSpec | undefined,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const tierId of tierIds) {
    const own = ownValue(project.sla, tierId);
    const spec = tier(tierId);
    if (!own || !spec) continue;
    const more = (key: keyof TierSpec['sla'], higherIsBetter: boolean) => {
      const value = own[key];
      if (value === undefined) return;
      const theirs = spec.sla[key];
      if (higherIsBetter ? value > theirs : value < theirs) {
        issues.push({
          path: `spec.sla.${tierId}.${key}`,
          message: `${value} promises more than tier ${tierId} targets (${theirs}); a project cannot promise more than its tier`,
        });
      }
    };
    more('availability', true);
    more('p99LatencyMs', false);
    more('rtoMinutes', false);
    more('rpoMinutes', false);
  }
  return issues;
}

/**
 * The project-level rules: audit retention each regime requires.
 * @public
 */
export function projectComplianceChecks(
  name: string,
  project: ProjectSpec,
): ComplianceCheck[] {
  const subject = `project:${name}`;
  const checks: ComplianceCheck[] = [];
  for (const regime of project.compliance) {
    const required = complianceRequirements[regime].auditRetentionDays;
    if (required === undefined) continue;
    const days = project.audit?.retentionDays;
    const rule = `compliance.${regime}.audit-retention`;
    const title = complianceRequirements[regime].title;
    if (days === undefined) {
      checks.push({
        rule,
        subject,
        status: 'fail',
        reason: `${subject} declares no audit.retentionDays; ${title} requires at least ${required} days`,
      });
    } else if (days < required) {
      checks.push({
        rule,
        subject,
        status: 'fail',
        reason: `${subject} keeps audit records ${days} days; ${title} requires at least ${required}`,
      });
    } else {
      checks.push({
        rule,
        subject,
        status: 'pass',
        reason: `audit records kept ${days} days (at least ${required})`,
      });
    }
  }
  return checks;
}

function valueAt(params: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (v, key) =>
        v && typeof v === 'object'
          ? ownValue(v as Record<string, unknown>, key)
          : undefined,
      params,
    );
}

/**
 * The rules of a project that apply to one of its resources, with their outcome: encryption
 * at rest and in transit, data residency (its cell), and the project's allowed cells.
 * `params` are the resource's parameters with its effective definition's defaults applied.
 * @public
 */
export function resourceComplianceChecks(options: {
  project: ProjectSpec;
  ref: string;
  product: { id: string; spec: ProductSpec };
  params: Record<string, unknown>;
  cell: { id: string; spec: CellSpec | undefined };
}): ComplianceCheck[] {
  const { project, ref, product, params, cell } = options;
  const subject = ref.startsWith('resource:') ? ref : `resource:${ref}`;
  const checks: ComplianceCheck[] = [];
  if (project.cells && !project.cells.includes(cell.id)) {
    checks.push({
      rule: 'project.cells',
      subject,
      status: 'fail',
      reason: `${subject} runs in cell ${
        cell.id
      }; the project allows ${project.cells.join(', ')}`,
    });
  }
  for (const regime of project.compliance) {
    const required = complianceRequirements[regime];
    if (required.encryptionAtRest) {
      const rule = `compliance.${regime}.encryption-at-rest`;
      const param = product.spec.features.encryption;
      const waived = product.spec.waivedFeatures?.encryption;
      if (waived) {
        checks.push({
          rule,
          subject,
          status: 'pass',
          reason: `not applicable: ${waived}`,
        });
      } else if (!param) {
        checks.push({
          rule,
          subject,
          status: 'unverified',
          reason: `product ${product.id} names no encryption parameter (features.encryption)`,
        });
      } else {
        const value = valueAt(params, param);
        checks.push({
          rule,
          subject,
          ...(value === true
            ? { status: 'pass', reason: `${param}: true` }
            : {
                status: 'fail',
                reason: `${subject} has ${param}: ${JSON.stringify(
                  value ?? null,
                )}`,
              }),
        });
      }
    }
    if (required.encryptionInTransit) {
      const rule = `compliance.${regime}.encryption-in-transit`;
      const control = ownValue(transitEncryptionControls, product.id);
      if (!control) {
        checks.push({
          rule,
          subject,
          status: 'unverified',
          reason: `product ${product.id} has no setting the control plane can check for encryption in transit`,
        });
      } else {
        const value = valueAt(params, control.parameter);
        checks.push({
          rule,
          subject,
          ...(value === control.value
            ? {
                status: 'pass',
                reason: `${control.parameter}: ${JSON.stringify(value)}`,
              }
            : {
                status: 'fail',
                reason: `${subject} has ${control.parameter}: ${JSON.stringify(
                  value ?? null,
                )} (must be ${JSON.stringify(control.value)})`,
              }),
        });
      }
    }
    if (required.dataResidency) {
      const rule = `compliance.${regime}.data-residency`;
      const residency = cell.spec?.dataResidency;
      const inside =
        residency?.toUpperCase() === required.dataResidency ||
        (!residency && cell.spec?.geo.toUpperCase() === required.dataResidency);
      checks.push({
        rule,
        subject,
        ...(inside
          ? {
              status: 'pass',
              reason: `cell ${cell.id} keeps data in ${required.dataResidency}`,
            }
          : {
              status: 'fail',
              reason: `${subject} runs in cell ${cell.id} (${
                residency
                  ? `data residency ${residency}`
                  : `geo ${cell.spec?.geo ?? 'unknown'}`
              }); ${required.title} allows cells in the ${
                required.dataResidency
              } only`,
            }),
      });
    }
  }
  return checks;
}
