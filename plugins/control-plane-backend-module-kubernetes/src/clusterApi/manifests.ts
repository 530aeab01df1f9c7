/**
 * The Cluster API objects the cluster driver writes and reads, typed, and the one it builds
 * from a cluster of the control plane: a `Cluster` with a ClusterClass `topology`.
 */
import { ClusterDriverCluster } from '@idp-multicloud/plugin-control-plane-node';

export const CAPI_VERSION = 'cluster.x-k8s.io/v1beta1';
/** Holds a machine deployment at its version while the topology's version moves on. */
export const DEFER_UPGRADE = 'topology.cluster.x-k8s.io/defer-upgrade';
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
export const DEPLOYMENT_NAME_LABEL =
  'topology.cluster.x-k8s.io/deployment-name';

/** A condition of a Cluster API object. */
export interface CapiCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  severity?: string;
}

/** One pool of the topology. */
export interface MachineDeploymentTopology {
  class: string;
  name: string;
  replicas: number;
  metadata?: { annotations?: Record<string, string> };
}

/** A `cluster.x-k8s.io/v1beta1` `Cluster` with a managed topology. */
export interface CapiCluster {
  apiVersion: typeof CAPI_VERSION;
  kind: 'Cluster';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    generation?: number;
    deletionTimestamp?: string;
  };
  spec: {
    topology: {
      class: string;
      version: string;
      controlPlane: { replicas: number };
      workers: { machineDeployments: MachineDeploymentTopology[] };
    };
    controlPlaneRef?: {
      apiVersion: string;
      kind: string;
      name: string;
      namespace?: string;
    };
  };
  status?: {
    phase?: string;
    observedGeneration?: number;
    conditions?: CapiCondition[];
    controlPlaneReady?: boolean;
  };
}

/** A `MachineDeployment` the topology controller made for a pool. */
export interface CapiMachineDeployment {
  apiVersion: typeof CAPI_VERSION;
  kind: 'MachineDeployment';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
  };
  spec: { replicas?: number; template: { spec: { version?: string } } };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    phase?: string;
    observedGeneration?: number;
  };
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

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Refuses what the API server would refuse, before anything is sent. */
export function validateCapiCluster(c: CapiCluster): string[] {
  const issues: string[] = [];
  if (!dnsLabel.test(c.metadata.name) || c.metadata.name.length > 63) {
    issues.push(`metadata.name ${c.metadata.name} is not a DNS label`);
  }
  if (!/^v\d+\.\d+\.\d+$/.test(c.spec.topology.version)) {
    issues.push(
      `spec.topology.version ${c.spec.topology.version} is not vX.Y.Z`,
    );
  }
  const names = new Set<string>();
  c.spec.topology.workers.machineDeployments.forEach((md, i) => {
    const at = `spec.topology.workers.machineDeployments[${i}]`;
    if (!dnsLabel.test(md.name))
      issues.push(`${at}.name ${md.name} is not a DNS label`);
    if (names.has(md.name)) issues.push(`${at}.name ${md.name} is repeated`);
    names.add(md.name);
    if (!Number.isInteger(md.replicas) || md.replicas < 0) {
      issues.push(`${at}.replicas must be a whole number ≥ 0`);
    }
  });
  return issues;
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
