import { z } from 'zod';
import { complianceRegimes } from '../model/compliance';
import { nameSchema, namespaceSchema } from '../model/names';
import { productSchema } from './catalog';

/**
 * `/projects/{project}/...`: the project (a namespace).
 * @public
 */
export const projectPathSchema = z.object({ project: namespaceSchema });

/**
 * `/projects/{project}/products/{id}`.
 * @public
 */
export const projectProductPathSchema = z.object({
  project: namespaceSchema,
  id: nameSchema,
});

/**
 * Where a field of an effective definition came from.
 * @public
 */
export const definitionOriginSchema = z
  .union([
    z.object({
      from: z.literal('global'),
      source: z.enum(['builtin', 'module', 'state-repo']),
      product: z.string(),
      path: z.string().optional(),
    }),
    z.object({
      from: z.literal('project'),
      project: z.string(),
      definition: z.string(),
      path: z
        .string()
        .describe('the definition’s file in the state repository'),
    }),
  ])
  .meta({ id: 'DefinitionOrigin' });

/**
 * `GET /projects/{project}/products/{id}`: the definition of a product a project sees.
 * @public
 */
export const effectiveDefinitionSchema = z
  .object({
    project: z.string(),
    id: z.string(),
    source: productSchema.shape.source.describe(
      'where the global product it starts from is declared',
    ),
    publish: z
      .boolean()
      .describe(
        "whether other projects' resources may depend on this project's resources of it",
      ),
    chain: z
      .array(definitionOriginSchema)
      .describe('the definitions applied, the global product first'),
    spec: productSchema
      .omit({ id: true, source: true })
      .describe('the effective definition'),
    fields: z
      .array(
        z.object({
          path: z
            .string()
            .describe(
              'e.g. tiers, parameters.size.default, parameters.engineVersion.enum',
            ),
          value: z.unknown(),
          origin: definitionOriginSchema,
        }),
      )
      .describe('the fields a person decides by, each with where it came from'),
  })
  .meta({ id: 'EffectiveDefinition' });

/**
 * An effective definition.
 * @public
 */
export type EffectiveDefinitionView = z.infer<typeof effectiveDefinitionSchema>;

const slaTarget = z.object({
  value: z.union([z.number(), z.string()]),
  from: z.enum(['tier', 'project', 'default']),
});

/**
 * `GET /projects/{project}/compliance`: each rule, for the project and each resource.
 * @public
 */
export const complianceReportSchema = z
  .object({
    project: z.string(),
    declared: z
      .boolean()
      .describe('whether the project has a projects/<project>/project.yaml'),
    regimes: z.array(z.enum(complianceRegimes)),
    approvals: z
      .object({
        breaking: z.array(z.string()),
        versionBump: z.array(z.string()),
        config: z.array(z.string()),
      })
      .describe('who must approve each kind of change'),
    sla: z
      .record(
        z.string(),
        z.object({
          availability: slaTarget,
          p99LatencyMs: slaTarget,
          rtoMinutes: slaTarget,
          rpoMinutes: slaTarget,
          supportHours: slaTarget,
        }),
      )
      .describe(
        'the SLA per criticality tier, each target from the tier or the project',
      ),
    resources: z
      .array(z.string())
      .describe("the project's resources the caller may read"),
    checks: z.array(
      z.object({
        rule: z
          .string()
          .describe(
            'e.g. compliance.pci-dss.encryption-at-rest, project.cells',
          ),
        subject: z.string().describe('project:<name> or resource:<ns>/<name>'),
        status: z.enum(['pass', 'fail', 'unverified']),
        reason: z.string(),
      }),
    ),
    summary: z.object({
      pass: z.number().int(),
      fail: z.number().int(),
      unverified: z.number().int(),
    }),
  })
  .meta({ id: 'ComplianceReport' });

/**
 * A compliance report.
 * @public
 */
export type ComplianceReport = z.infer<typeof complianceReportSchema>;
