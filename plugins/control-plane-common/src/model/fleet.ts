import { z } from 'zod';
import {
  clusterChannels,
  maintenanceWindowSchema,
  nodePoolSchema,
} from './clusters';
import { nameSchema } from './names';

/**
 * A cloud vendor or platform a cell's clusters run on.
 * @public
 */
export const providerSpecSchema = z.object({
  displayName: z.string().min(1),
  kind: z.enum(['aws', 'gcp', 'azure', 'oci', 'onprem']),
  driver: nameSchema.describe(
    'the driver that acts on its clusters, e.g. simulated or kubernetes',
  ),
});

/**
 * A provider's specification.
 * @public
 */
export type ProviderSpec = z.infer<typeof providerSpecSchema>;

/**
 * An isolation domain (a region or geography) grouping clusters of several providers.
 * @public
 */
export const cellSpecSchema = z.object({
  displayName: z.string().min(1),
  geo: z.string().min(2).describe('geography, e.g. us, eu, ap'),
  dataResidency: z
    .string()
    .optional()
    .describe(
      'jurisdiction data must stay in, e.g. EU; resources may not leave it',
    ),
  providers: z
    .array(nameSchema)
    .min(1)
    .describe('providers with clusters in this cell'),
  driftPolicy: z
    .enum(['correct', 'warn'])
    .optional()
    .describe(
      "what to do with drift of this cell's resources that set no policy of their own: correct it (the default) or only report it",
    ),
});

/**
 * A cell's specification.
 * @public
 */
export type CellSpec = z.infer<typeof cellSpecSchema>;

/**
 * The lifecycle of a cluster.
 * @public
 */
export const clusterLifecycles = [
  'provisioning',
  'active',
  'upgrading',
  'draining',
  'decommissioned',
] as const;

/**
 * A runtime cluster in one cell on one provider.
 * @public
 */
export const clusterSpecSchema = z.object({
  cell: nameSchema,
  provider: nameSchema,
  region: z.string().min(1).describe("the provider's region, e.g. us-east-1"),
  zones: z.array(z.string().min(1)).min(1),
  version: z.string().min(1).describe('Kubernetes version'),
  lifecycle: z.enum(clusterLifecycles).default('active'),
  nodePools: z.array(nodePoolSchema).default([]),
  channel: z
    .enum(clusterChannels)
    .optional()
    .describe('the upgrade channel it follows; none: upgraded by hand only'),
  maintenanceWindow: maintenanceWindowSchema
    .optional()
    .describe('when automatic upgrades may run'),
  capacity: z.object({
    cpu: z.number().positive(),
    memoryGi: z.number().positive(),
    storageGi: z.number().nonnegative(),
    maxResources: z.number().int().positive(),
  }),
});

/**
 * A cluster's specification.
 * @public
 */
export type ClusterSpec = z.infer<typeof clusterSpecSchema>;

/**
 * Limits for a cell, a team (owner group) or a namespace.
 * @public
 */
export const quotaSpecSchema = z.object({
  scope: z.object({
    kind: z.enum(['cell', 'team', 'namespace']),
    name: z.string().min(1).describe('cell id, owner group ref, or namespace'),
  }),
  limits: z
    .object({
      maxInstances: z.number().int().nonnegative().optional(),
      maxStorageGi: z.number().nonnegative().optional(),
      maxMonthlyCost: z
        .number()
        .nonnegative()
        .optional()
        .describe('USD per month'),
    })
    .refine(l => Object.values(l).some(v => v !== undefined), {
      message: 'set at least one limit',
    }),
});

/**
 * A quota's specification.
 * @public
 */
export type QuotaSpec = z.infer<typeof quotaSpecSchema>;

/**
 * A governance policy in the state repository (`policies/<name>.yaml`): which products,
 * tiers and cells the teams or namespaces it names may request. Policies take effect on
 * the commit that changes them. Every policy that applies must allow a request.
 * @public
 */
export const policySpecSchema = z
  .object({
    description: z.string().optional(),
    subjects: z
      .object({
        teams: z
          .array(z.string().min(1))
          .optional()
          .describe('owner group refs, e.g. group:default/payments'),
        namespaces: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional()
      .describe('whom the policy applies to; everyone when absent'),
    products: z
      .object({
        allow: z.array(z.string().min(1)).optional(),
        deny: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    tiers: z
      .object({ allow: z.array(z.string().min(1)) })
      .strict()
      .optional(),
    cells: z
      .object({ allow: z.array(z.string().min(1)) })
      .strict()
      .optional(),
  })
  .strict();

/**
 * A policy's specification.
 * @public
 */
export type PolicySpec = z.infer<typeof policySpecSchema>;
