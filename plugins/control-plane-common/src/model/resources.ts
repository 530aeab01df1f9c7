import { z } from 'zod';
import { resourceStates } from './resourceState';
import {
  componentRefSchema,
  nameSchema,
  normalizeEntityRef,
  ownerRefSchema,
  parseResourceRef,
  resourceRefSchema,
  stringifyResourceRef,
} from './names';
import { tierIdSchema } from './tiers';
import { rolloutSpecSchema } from './deployments';

/**
 * Labels: short key/value strings for selecting and grouping.
 * @public
 */
export const labelsSchema = z
  .record(
    z
      .string()
      .regex(
        /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
        'invalid label key',
      ),
    z.string().max(63),
  )
  .default({});

/**
 * The desired state of a resource: what its owner asked for.
 * @public
 */
export const resourceSpecSchema = z.object({
  product: nameSchema,
  owner: ownerRefSchema
    .transform(normalizeEntityRef)
    .describe('the team accountable for it'),
  component: componentRefSchema
    .transform(normalizeEntityRef)
    .optional()
    .describe('the component (or system) it serves'),
  tier: tierIdSchema,
  cell: nameSchema,
  params: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("the product's parameters"),
  dependsOn: z
    .array(
      resourceRefSchema.transform(ref =>
        stringifyResourceRef(parseResourceRef(ref)),
      ),
    )
    .default([])
    .describe('resources that must be READY before this one is provisioned'),
  placement: z
    .object({
      provider: nameSchema.optional(),
      cluster: nameSchema.optional(),
    })
    .strict()
    .optional()
    .describe(
      'pins placement to a provider or cluster (what a migrate operation sets)',
    ),
  rollout: rolloutSpecSchema
    .optional()
    .describe(
      'how a new version rolls out; the product and tier defaults when left out',
    ),
  driftPolicy: z
    .enum(['correct', 'warn'])
    .optional()
    .describe(
      'what to do when the actual state drifts: correct it (default) or only report',
    ),
});

/**
 * A resource's desired state.
 * @public
 */
export type ResourceSpec = z.infer<typeof resourceSpecSchema>;

/**
 * A condition of a resource, in the Kubernetes style.
 * @public
 */
export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.string(),
});

/**
 * A condition.
 * @public
 */
export type Condition = z.infer<typeof conditionSchema>;

/**
 * Where a resource runs.
 * @public
 */
export const placementSchema = z.object({
  cell: z.string(),
  provider: z.string(),
  cluster: z.string(),
});

/**
 * What a GitOps tool (Argo CD, Flux) reports of the objects rendered for a resource: `inSync`
 * false keeps it from READY.
 * @public
 */
export const deliveryStatusSchema = z.object({
  tool: z.string().describe('argocd or flux'),
  application: z
    .string()
    .describe('the Argo CD Application or the Flux Kustomization'),
  sync: z.string().describe('Synced, OutOfSync or Unknown'),
  health: z
    .string()
    .describe('Healthy, Progressing, Degraded, Suspended, Missing or Unknown'),
  inSync: z.boolean(),
  message: z.string().optional(),
  revision: z
    .string()
    .optional()
    .describe('the deploy repository revision the tool last applied'),
  held: z
    .boolean()
    .optional()
    .describe('auto-sync is held (a rollout in progress)'),
});

/**
 * The observed state of a resource.
 * @public
 */
export const resourceStatusSchema = z.object({
  state: z.enum(resourceStates),
  reason: z.string().optional(),
  generation: z.number().int().describe('generation of the desired spec'),
  observedGeneration: z
    .number()
    .int()
    .describe('the generation the control plane last acted on completely'),
  placement: placementSchema.optional(),
  version: z.string().optional(),
  endpoint: z
    .object({
      host: z.string(),
      port: z.number().int(),
      hostname: z
        .string()
        .optional()
        .describe('the DNS name registered for it'),
    })
    .optional()
    .describe('where clients connect, once it is READY'),
  connectionSecret: z
    .object({
      name: z.string(),
      namespace: z.string(),
      cluster: z.string().describe('the cluster the secret is on'),
    })
    .optional()
    .describe(
      'the secret holding its connection details (a reference, never the details)',
    ),
  conditions: z.array(conditionSchema),
  delivery: deliveryStatusSchema
    .optional()
    .describe(
      'what the GitOps tool delivering its cluster reports of its rendered objects (with a delivery module; only on a single resource)',
    ),
  commit: z
    .string()
    .optional()
    .describe('the state repository commit of the desired spec'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/**
 * The observed state of a resource.
 * @public
 */
export type ResourceStatus = z.infer<typeof resourceStatusSchema>;

/**
 * A resource as the API returns it: desired spec and observed status.
 * @public
 */
export const resourceSchema = z
  .object({
    ref: z.string().describe('resource:<namespace>/<name>'),
    metadata: z.object({
      name: nameSchema,
      namespace: nameSchema,
      labels: z.record(z.string(), z.string()),
    }),
    spec: resourceSpecSchema,
    status: resourceStatusSchema,
  })
  .meta({ id: 'Resource' });

/**
 * A resource as the API returns it.
 * @public
 */
export type Resource = z.infer<typeof resourceSchema>;

/**
 * One persisted state transition of a resource.
 * @public
 */
export const resourceTransitionSchema = z.object({
  from: z.enum(resourceStates).optional(),
  to: z.enum(resourceStates),
  actor: z.string(),
  reason: z.string(),
  operationId: z.string().optional(),
  at: z.string(),
});

/**
 * A state transition.
 * @public
 */
export type ResourceTransition = z.infer<typeof resourceTransitionSchema>;
