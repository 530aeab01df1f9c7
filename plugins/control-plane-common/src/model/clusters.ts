/**
 * Clusters as managed objects: the desired parts of a cluster manifest that lifecycle
 * automation reads (node pools, upgrade channel, maintenance window), the observed phases
 * of a cluster as a closed transition table, the supported Kubernetes versions, and the
 * upgrade path rules. Pure: the backend and the frontend share it.
 */
import { z } from 'zod';
import { nameSchema } from './names';

/**
 * Every phase a cluster can be in, as the control plane observes it.
 * @public
 */
export const clusterPhases = [
  'Provisioning',
  'Ready',
  'Upgrading',
  'Degraded',
  'Draining',
  'Decommissioning',
  'Deleted',
] as const;

/**
 * The observed phase of a cluster.
 * @public
 */
export type ClusterPhase = (typeof clusterPhases)[number];

const clusterTransitions: Record<ClusterPhase, readonly ClusterPhase[]> = {
  Provisioning: ['Ready', 'Degraded', 'Decommissioning'],
  Ready: ['Upgrading', 'Degraded', 'Draining', 'Decommissioning'],
  Upgrading: ['Ready', 'Degraded'],
  Degraded: ['Ready', 'Upgrading', 'Draining', 'Decommissioning'],
  Draining: ['Ready', 'Degraded', 'Decommissioning'],
  Decommissioning: ['Deleted', 'Ready', 'Degraded'],
  Deleted: [],
};

/**
 * The phases a cluster may move to from `from`.
 * @public
 */
export function nextClusterPhases(from: ClusterPhase): readonly ClusterPhase[] {
  return clusterTransitions[from];
}

/**
 * Whether a cluster may move from `from` to `to`. Staying in a phase is always allowed.
 * @public
 */
export function canClusterTransition(
  from: ClusterPhase,
  to: ClusterPhase,
): boolean {
  return from === to || clusterTransitions[from].includes(to);
}

/**
 * A terminal phase has no way out.
 * @public
 */
export function isTerminalClusterPhase(phase: ClusterPhase): boolean {
  return clusterTransitions[phase].length === 0;
}

/**
 * Phases in which the scheduler places nothing new on a cluster.
 * @public
 */
export const unschedulableClusterPhases: readonly ClusterPhase[] = [
  'Provisioning',
  'Upgrading',
  'Draining',
  'Decommissioning',
  'Deleted',
];

/**
 * Upgrade channels: how soon a cluster follows new Kubernetes releases.
 * @public
 */
export const clusterChannels = ['rapid', 'regular', 'stable'] as const;

/**
 * An upgrade channel.
 * @public
 */
export type ClusterChannel = (typeof clusterChannels)[number];

/**
 * The days of the week a maintenance window may open on.
 * @public
 */
export const weekdays = [
  'mon',
  'tue',
  'wed',
  'thu',
  'fri',
  'sat',
  'sun',
] as const;

/**
 * When automatic upgrades may run: on these days, from `start` (local time of `timeZone`)
 * for `durationMinutes`.
 * @public
 */
export const maintenanceWindowSchema = z
  .object({
    days: z
      .array(z.enum(weekdays))
      .min(1)
      .refine(days => new Set(days).size === days.length, {
        message: 'must not name a day twice',
      }),
    start: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:mm (24 hours)'),
    durationMinutes: z
      .number()
      .int()
      .min(30)
      .max(24 * 60),
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .describe('an IANA time zone, e.g. Europe/Paris')
      .default('UTC'),
  })
  .strict()
  .meta({ id: 'MaintenanceWindow' });

/**
 * A maintenance window.
 * @public
 */
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;

/**
 * A Kubernetes version: `1.31` or `1.31.4`.
 * @public
 */
export const kubernetesVersionSchema = z
  .string()
  .regex(/^1\.\d{1,2}(\.\d{1,3})?$/, 'must be a version like 1.31 or 1.31.4');

/**
 * A number of nodes: at most 5,000, the most a Kubernetes cluster supports.
 * @public
 */
export const nodeCountSchema = z.number().int().min(0).max(5000);

/**
 * A node pool of a cluster: its machine type and size. `count` is the desired size, kept
 * between `min` and `max` when they are set.
 * @public
 */
export const nodePoolSchema = z.object({
  name: nameSchema,
  machineType: z.string().min(1),
  count: nodeCountSchema.describe('desired number of nodes'),
  min: nodeCountSchema.optional(),
  max: nodeCountSchema.optional(),
  zones: z.array(z.string()).optional(),
});

/**
 * A node pool.
 * @public
 */
export type NodePool = z.infer<typeof nodePoolSchema>;

/** The minor of a version, e.g. 31 for `1.31.4`; NaN when it is not one. */
function minorOf(version: string): number {
  const m = /^1\.(\d+)/.exec(version);
  return m ? Number(m[1]) : NaN;
}

/**
 * An API version Kubernetes stopped serving: `apiVersion/Kind` (`policy/v1beta1/PodDisruptionBudget`,
 * `v1/Service` for the core group) and what to use instead.
 * @public
 */
export interface RemovedKubernetesApi {
  /** The `apiVersion/Kind` no longer served. */
  api: string;
  /** What to use instead. */
  replacement: string;
}

const flowcontrol = (version: string, replacement: string) =>
  ['FlowSchema', 'PriorityLevelConfiguration'].map(kind => ({
    api: `flowcontrol.apiserver.k8s.io/${version}/${kind}`,
    replacement: `flowcontrol.apiserver.k8s.io/${replacement}/${kind}`,
  }));

/**
 * The API versions each Kubernetes minor stopped serving, after upstream's "Deprecated API
 * Migration Guide" (kubernetes.io/docs/reference/using-api/deprecation-guide). Minors that
 * removed nothing are absent. Versioned with the code: a new minor's removals are a new row.
 * @public
 */
export const removedKubernetesApis: readonly {
  minor: string;
  removed: readonly RemovedKubernetesApi[];
}[] = [
  {
    minor: '1.16',
    removed: [
      ...['Deployment', 'DaemonSet', 'ReplicaSet'].flatMap(kind => [
        { api: `extensions/v1beta1/${kind}`, replacement: `apps/v1/${kind}` },
        { api: `apps/v1beta2/${kind}`, replacement: `apps/v1/${kind}` },
      ]),
      { api: 'apps/v1beta1/Deployment', replacement: 'apps/v1/Deployment' },
      ...['StatefulSet'].flatMap(kind => [
        { api: `apps/v1beta1/${kind}`, replacement: `apps/v1/${kind}` },
        { api: `apps/v1beta2/${kind}`, replacement: `apps/v1/${kind}` },
      ]),
      {
        api: 'extensions/v1beta1/NetworkPolicy',
        replacement: 'networking.k8s.io/v1/NetworkPolicy',
      },
      {
        api: 'extensions/v1beta1/PodSecurityPolicy',
        replacement: 'policy/v1beta1/PodSecurityPolicy',
      },
    ],
  },
  {
    minor: '1.22',
    removed: [
      ...['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].map(
        kind => ({
          api: `admissionregistration.k8s.io/v1beta1/${kind}`,
          replacement: `admissionregistration.k8s.io/v1/${kind}`,
        }),
      ),
      {
        api: 'apiextensions.k8s.io/v1beta1/CustomResourceDefinition',
        replacement: 'apiextensions.k8s.io/v1/CustomResourceDefinition',
      },
      {
        api: 'apiregistration.k8s.io/v1beta1/APIService',
        replacement: 'apiregistration.k8s.io/v1/APIService',
      },
      {
        api: 'certificates.k8s.io/v1beta1/CertificateSigningRequest',
        replacement: 'certificates.k8s.io/v1/CertificateSigningRequest',
      },
      {
        api: 'coordination.k8s.io/v1beta1/Lease',
        replacement: 'coordination.k8s.io/v1/Lease',
      },
      {
        api: 'extensions/v1beta1/Ingress',
        replacement: 'networking.k8s.io/v1/Ingress',
      },
      {
        api: 'networking.k8s.io/v1beta1/Ingress',
        replacement: 'networking.k8s.io/v1/Ingress',
      },
      {
        api: 'networking.k8s.io/v1beta1/IngressClass',
        replacement: 'networking.k8s.io/v1/IngressClass',
      },
      ...['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].map(
        kind => ({
          api: `rbac.authorization.k8s.io/v1beta1/${kind}`,
          replacement: `rbac.authorization.k8s.io/v1/${kind}`,
        }),
      ),
      {
        api: 'scheduling.k8s.io/v1beta1/PriorityClass',
        replacement: 'scheduling.k8s.io/v1/PriorityClass',
      },
      ...['CSIDriver', 'CSINode', 'StorageClass', 'VolumeAttachment'].map(
        kind => ({
          api: `storage.k8s.io/v1beta1/${kind}`,
          replacement: `storage.k8s.io/v1/${kind}`,
        }),
      ),
    ],
  },
  {
    minor: '1.25',
    removed: [
      { api: 'batch/v1beta1/CronJob', replacement: 'batch/v1/CronJob' },
      {
        api: 'discovery.k8s.io/v1beta1/EndpointSlice',
        replacement: 'discovery.k8s.io/v1/EndpointSlice',
      },
      {
        api: 'events.k8s.io/v1beta1/Event',
        replacement: 'events.k8s.io/v1/Event',
      },
      {
        api: 'autoscaling/v2beta1/HorizontalPodAutoscaler',
        replacement: 'autoscaling/v2/HorizontalPodAutoscaler',
      },
      {
        api: 'policy/v1beta1/PodDisruptionBudget',
        replacement: 'policy/v1/PodDisruptionBudget',
      },
      {
        api: 'policy/v1beta1/PodSecurityPolicy',
        replacement: 'Pod Security Admission (no replacement API)',
      },
      {
        api: 'node.k8s.io/v1beta1/RuntimeClass',
        replacement: 'node.k8s.io/v1/RuntimeClass',
      },
    ],
  },
  {
    minor: '1.26',
    removed: [
      ...flowcontrol('v1beta1', 'v1beta3'),
      {
        api: 'autoscaling/v2beta2/HorizontalPodAutoscaler',
        replacement: 'autoscaling/v2/HorizontalPodAutoscaler',
      },
    ],
  },
  {
    minor: '1.27',
    removed: [
      {
        api: 'storage.k8s.io/v1beta1/CSIStorageCapacity',
        replacement: 'storage.k8s.io/v1/CSIStorageCapacity',
      },
    ],
  },
  { minor: '1.29', removed: flowcontrol('v1beta2', 'v1') },
  { minor: '1.32', removed: flowcontrol('v1beta3', 'v1') },
];

/**
 * The APIs a minor stopped serving (none when it removed nothing).
 * @public
 */
export function removedApisIn(
  version: string,
): readonly RemovedKubernetesApi[] {
  const minor = minorOf(version);
  return (
    removedKubernetesApis.find(r => minorOf(r.minor) === minor)?.removed ?? []
  );
}

/**
 * A supported Kubernetes minor: when it came out, when it stops being supported, and the
 * API versions it no longer serves.
 * @public
 */
export interface KubernetesRelease {
  minor: string;
  latestPatch: string;
  released: string;
  endOfLife: string;
  /** The channels that offer it (rapid first, stable last). */
  channels: ClusterChannel[];
  /** `apiVersion/Kind` removed in this minor (from {@link removedKubernetesApis}). */
  removedApis: string[];
}

/**
 * The versioned table of Kubernetes releases the control plane knows (upstream's dates).
 * @public
 */
export const kubernetesReleases: readonly KubernetesRelease[] = (
  [
    {
      minor: '1.29',
      latestPatch: '1.29.15',
      released: '2023-12-13',
      endOfLife: '2025-02-28',
      channels: [],
      removedApis: [],
    },
    {
      minor: '1.30',
      latestPatch: '1.30.14',
      released: '2024-04-17',
      endOfLife: '2025-06-28',
      channels: [],
      removedApis: [],
    },
    {
      minor: '1.31',
      latestPatch: '1.31.12',
      released: '2024-08-13',
      endOfLife: '2025-10-28',
      channels: ['stable'],
      removedApis: [],
    },
    {
      minor: '1.32',
      latestPatch: '1.32.8',
      released: '2024-12-11',
      endOfLife: '2026-02-28',
      channels: ['stable'],
      removedApis: [],
    },
    {
      minor: '1.33',
      latestPatch: '1.33.4',
      released: '2025-04-23',
      endOfLife: '2026-06-28',
      channels: ['stable', 'regular'],
      removedApis: [],
    },
    {
      minor: '1.34',
      latestPatch: '1.34.2',
      released: '2025-08-27',
      endOfLife: '2026-10-27',
      channels: ['stable', 'regular', 'rapid'],
      removedApis: [],
    },
    {
      minor: '1.35',
      latestPatch: '1.35.0',
      released: '2025-12-17',
      endOfLife: '2027-02-28',
      channels: ['regular', 'rapid'],
      removedApis: [],
    },
  ] as KubernetesRelease[]
).map(r => ({
  ...r,
  removedApis: removedApisIn(r.minor).map(a => a.api),
}));

/**
 * The release of a version's minor, when the table has it.
 * @public
 */
export function kubernetesRelease(
  version: string,
): KubernetesRelease | undefined {
  const minor = minorOf(version);
  return kubernetesReleases.find(r => minorOf(r.minor) === minor);
}

/**
 * The versions of a cluster that an upgrade must respect: the control plane's and each pool's.
 * @public
 */
export interface UpgradeSubject {
  controlPlane: string;
  pools: { name: string; version: string }[];
  /**
   * The workloads placed on the cluster and the Kubernetes APIs (`apiVersion/Kind`) of the
   * objects each runs, as their drivers report them.
   */
  apisInUse?: { ref: string; apis: string[] }[];
}

/**
 * Why an upgrade to `target` may not start (an empty list: it may). The rules: one minor at
 * a time, never down; the target must be a known release; every pool within two minors of
 * the target (the kubelet version-skew policy, as the control plane is upgraded first); no
 * API in use that the target no longer serves.
 * @public
 */
export function upgradeRefusals(
  subject: UpgradeSubject,
  target: string,
): string[] {
  const refusals: string[] = [];
  const from = minorOf(subject.controlPlane);
  const to = minorOf(target);
  if (Number.isNaN(to)) return [`${target} is not a Kubernetes version`];
  const release = kubernetesRelease(target);
  if (!release) {
    refusals.push(`${target} is not a supported release`);
  }
  if (to < from) {
    refusals.push(
      `downgrades are not supported: ${subject.controlPlane} → ${target}`,
    );
  } else if (to > from + 1) {
    refusals.push(
      `one minor at a time: ${
        subject.controlPlane
      } → ${target} skips ${Array.from(
        { length: to - from - 1 },
        (_, i) => `1.${from + 1 + i}`,
      ).join(', ')}`,
    );
  }
  for (const pool of subject.pools) {
    const poolMinor = minorOf(pool.version);
    if (to - poolMinor > 2) {
      refusals.push(
        `version skew: pool ${pool.name} runs ${pool.version}, more than two minors behind ${target}; upgrade it first`,
      );
    }
  }
  for (let minor = from + 1; minor <= to; minor++) {
    for (const removed of removedApisIn(`1.${minor}`)) {
      const users = (subject.apisInUse ?? [])
        .filter(w => w.apis.includes(removed.api))
        .map(w => w.ref);
      if (users.length > 0) {
        refusals.push(
          `removed API: 1.${minor} no longer serves ${
            removed.api
          }, still used by ${users.join(', ')}; move them to ${
            removed.replacement
          } first`,
        );
      }
    }
  }
  return refusals;
}

/**
 * The newest version a channel offers.
 * @public
 */
export function channelVersion(channel: ClusterChannel): string | undefined {
  const offered = kubernetesReleases.filter(r => r.channels.includes(channel));
  return offered[offered.length - 1]?.latestPatch;
}
