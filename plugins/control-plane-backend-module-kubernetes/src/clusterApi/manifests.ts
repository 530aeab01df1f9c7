/**
 * The Cluster API objects the cluster driver writes and reads, as zod schemas of CAPI's
 * v1beta1 CRDs (their types inferred), and the one it builds from a cluster of the control
 * plane: a `Cluster` with a ClusterClass `topology`.
 */
import { ClusterDriverCluster } from '@idp-multicloud/plugin-control-plane-node';
import { z } from 'zod';

export const CAPI_VERSION = 'cluster.x-k8s.io/v1beta1';
/** Holds a machine deployment at its version while the topology's version moves on. */
export const DEFER_UPGRADE = 'topology.cluster.x-k8s.io/defer-upgrade';
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
export const DEPLOYMENT_NAME_LABEL =
  'topology.cluster.x-k8s.io/deployment-name';

const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** What Kubernetes accepts as a name: a DNS-1123 label. */
const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .refine(v => dnsLabelPattern.test(v), {
    error: i => `${String(i.input)} is not a DNS label`,
  });
const labelValue = z
  .string()
  .max(63)
  .regex(
    /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/,
    'is not a label value',
  );
const stringMap = z.record(z.string(), z.string());
/** CAPI's `int32` replica counts. */
const replicas = z
  .number()
  .refine(n => Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1, {
    error: 'must be a whole number ≥ 0',
  });
/** An RFC 3339 time, as the API server writes it. */
const time = z.string().datetime({ offset: true });

/**
 * The schemas below follow the `cluster.x-k8s.io/v1beta1` CRDs of Cluster API (`Cluster` with
 * a managed `topology`, `MachineDeployment`), for the fields this driver writes and reads.
 * No `@kubernetes-models` package covers Cluster API, so they are written here. Objects are
 * loose, as Kubernetes clients read them: the API server adds fields (uid, managedFields,
 * clusterNetwork, infrastructureRef, ...) that are kept but not checked.
 */

/** A condition of a Cluster API object (v1beta1: `severity` only when not True). */
export const capiConditionSchema = z.looseObject({
  type: z.string().min(1),
  status: z.enum(['True', 'False', 'Unknown']),
  severity: z.enum(['Error', 'Warning', 'Info', '']).optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: time.optional(),
});

/** A condition of a Cluster API object. */
export type CapiCondition = z.infer<typeof capiConditionSchema>;

/** One pool of the topology: `spec.topology.workers.machineDeployments[]`. */
export const machineDeploymentTopologySchema = z.looseObject({
  class: z.string().min(1),
  name: dnsLabel,
  replicas,
  metadata: z
    .looseObject({
      labels: stringMap.optional(),
      annotations: stringMap.optional(),
    })
    .optional(),
});

/** One pool of the topology. */
export type MachineDeploymentTopology = z.infer<
  typeof machineDeploymentTopologySchema
>;

const objectMeta = z.looseObject({
  name: dnsLabel,
  namespace: dnsLabel,
  labels: z.record(z.string(), labelValue).optional(),
  annotations: stringMap.optional(),
  generation: z.number().int().optional(),
  deletionTimestamp: time.optional(),
});

/** A `cluster.x-k8s.io/v1beta1` `Cluster` with a managed topology (ClusterClass). */
export const capiClusterSchema = z.looseObject({
  apiVersion: z.literal(CAPI_VERSION),
  kind: z.literal('Cluster'),
  metadata: objectMeta,
  spec: z.looseObject({
    topology: z.looseObject({
      class: z.string().min(1),
      version: z.string().regex(/^v\d+\.\d+\.\d+$/, 'is not vX.Y.Z'),
      controlPlane: z.looseObject({ replicas }),
      workers: z.looseObject({
        machineDeployments: z
          .array(machineDeploymentTopologySchema)
          .superRefine((mds, ctx) => {
            const seen = new Set<string>();
            mds.forEach((md, i) => {
              if (seen.has(md.name)) {
                ctx.addIssue({
                  code: 'custom',
                  path: [i, 'name'],
                  message: `${md.name} is repeated`,
                });
              }
              seen.add(md.name);
            });
          }),
      }),
    }),
    controlPlaneRef: z
      .looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        namespace: z.string().optional(),
      })
      .optional(),
  }),
  status: z
    .looseObject({
      phase: z
        .enum([
          'Pending',
          'Provisioning',
          'Provisioned',
          'Deleting',
          'Failed',
          'Unknown',
        ])
        .optional(),
      observedGeneration: z.number().int().optional(),
      conditions: z.array(capiConditionSchema).optional(),
      controlPlaneReady: z.boolean().optional(),
      infrastructureReady: z.boolean().optional(),
    })
    .optional(),
});

/** A `cluster.x-k8s.io/v1beta1` `Cluster` with a managed topology. */
export type CapiCluster = z.infer<typeof capiClusterSchema>;

/** A `MachineDeployment` the topology controller made for a pool. */
export const capiMachineDeploymentSchema = z.looseObject({
  apiVersion: z.literal(CAPI_VERSION),
  kind: z.literal('MachineDeployment'),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().min(1),
    labels: stringMap.optional(),
  }),
  spec: z.looseObject({
    replicas: replicas.optional(),
    template: z.looseObject({
      spec: z.looseObject({ version: z.string().optional() }),
    }),
  }),
  status: z
    .looseObject({
      replicas: z.number().int().optional(),
      readyReplicas: z.number().int().optional(),
      phase: z
        .enum(['ScalingUp', 'ScalingDown', 'Running', 'Failed', 'Unknown'])
        .optional(),
      observedGeneration: z.number().int().optional(),
    })
    .optional(),
});

/** A `MachineDeployment` the topology controller made for a pool. */
export type CapiMachineDeployment = z.infer<typeof capiMachineDeploymentSchema>;

/** The issues of a parse, one `path message` each (`spec.topology.version is not vX.Y.Z`). */
function issuesOf(error: z.ZodError): string[] {
  return error.issues.map(i => {
    const path = i.path
      .map((p, n) =>
        typeof p === 'number' ? `[${p}]` : `${n > 0 ? '.' : ''}${String(p)}`,
      )
      .join('');
    return `${path} ${i.message}`;
  });
}

/**
 * Reads what the API server answered as a Cluster API object: the parsed object, or the
 * issues that make it something else.
 */
export function parseCapi<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; issues: string[] } {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, issues: issuesOf(parsed.error) };
}

/** Whether a pool of the topology is held at its version (an upgrade has not reached it). */
export const isHeld = (t: MachineDeploymentTopology) =>
  !!t.metadata?.annotations &&
  Object.hasOwn(t.metadata.annotations, DEFER_UPGRADE);

/** How the driver maps the control plane's clusters to Cluster API. */
export interface ClusterApiSettings {
  /** The namespace of the management cluster the `Cluster` objects live in. */
  namespace: string;
  /** The ClusterClass every cluster uses. */
  clusterClass: string;
  /** The machine deployment class of a pool (default: its machine type). */
  workerClass?: (pool: { name: string; machineType: string }) => string;
  /** Control plane replicas. @defaultValue 3 */
  controlPlaneReplicas?: number;
}

/** `1.31` or `1.31.4` as Cluster API writes it: `v1.31.0`, `v1.31.4`. */
export function capiVersion(version: string): string {
  const parts = version.replace(/^v/, '').split('.');
  return `v${[...parts, '0', '0'].slice(0, 3).join('.')}`;
}

/** A Cluster API version back as the control plane writes it: `v1.31.4` → `1.31.4`. */
export const fromCapiVersion = (v: string | undefined) =>
  v ? v.replace(/^v/, '') : null;

/** Refuses what the API server would refuse, before anything is sent: one line per issue. */
export function validateCapiCluster(c: CapiCluster): string[] {
  const parsed = parseCapi(capiClusterSchema, c);
  return parsed.ok ? [] : parsed.issues;
}

/**
 * The `Cluster` of a control plane cluster. Pools listed in `deferred` keep their version
 * when the topology's version changes (an upgrade that has not reached them yet).
 */
export function capiClusterOf(
  cluster: ClusterDriverCluster,
  settings: ClusterApiSettings,
  options: {
    version: string;
    replicas?: Record<string, number>;
    deferred?: string[];
  },
): CapiCluster {
  const deferred = new Set(options.deferred ?? []);
  return {
    apiVersion: CAPI_VERSION,
    kind: 'Cluster',
    metadata: {
      name: cluster.name,
      namespace: settings.namespace,
      labels: {
        'idp.multicloud/cell': cluster.spec.cell,
        'idp.multicloud/provider': cluster.spec.provider,
      },
    },
    spec: {
      topology: {
        class: settings.clusterClass,
        version: capiVersion(options.version),
        controlPlane: { replicas: settings.controlPlaneReplicas ?? 3 },
        workers: {
          machineDeployments: cluster.spec.nodePools.map(p => ({
            class: settings.workerClass?.(p) ?? p.machineType,
            name: p.name,
            replicas: options.replicas?.[p.name] ?? p.count,
            ...(deferred.has(p.name)
              ? { metadata: { annotations: { [DEFER_UPGRADE]: '' } } }
              : {}),
          })),
        },
      },
    },
  };
}
