import {
  createExtensionPoint,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  ClusterSpec,
  MaintenanceWindow,
} from '@idp-multicloud/plugin-control-plane-common';

/**
 * A cluster as a cluster driver is asked to realise it: its desired spec from the state
 * repository.
 * @public
 */
export interface ClusterDriverCluster {
  name: string;
  spec: ClusterSpec & { maintenanceWindow?: MaintenanceWindow };
  labels: Record<string, string>;
}

/**
 * The context of one cluster driver call, made by one step of one lifecycle operation.
 * @public
 */
export interface ClusterDriverCallContext {
  /** `<operation id>:<step>`, the same on every retry of the step. */
  idempotencyToken: string;
  operationId: string;
  signal: AbortSignal;
  logger: LoggerService;
}

/**
 * A condition of a cluster, Kubernetes style.
 * @public
 */
export interface ObservedClusterCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

/**
 * What a cluster driver observes of a cluster.
 * @public
 */
export interface ObservedCluster {
  /** `absent`: nothing exists; `provisioning`: being created or changed; `ready`; `failed`. */
  phase:
    | 'absent'
    | 'provisioning'
    | 'ready'
    | 'degraded'
    | 'deleting'
    | 'failed';
  controlPlaneVersion: string | null;
  pools: {
    name: string;
    version: string | null;
    nodes: number;
    ready: number;
  }[];
  conditions: ObservedClusterCondition[];
  /** The earliest expiry of the cluster's certificates, ISO 8601. */
  certificatesExpireAt?: string;
  /** Where the credentials to reach it are: a reference, never the credentials. */
  kubeconfigSecretRef?: string;
  message?: string;
}

/**
 * A cluster driver creates, upgrades, scales and deletes clusters of one kind of platform
 * (Cluster API, the simulator). Every method is idempotent for the same token and returns at
 * once; the control plane polls {@link ClusterDriver.observe} until a change is done.
 * @public
 */
export interface ClusterDriver {
  /** Matches the `driver` of the providers it serves. */
  readonly id: string;
  /** Creates the cluster, or brings it to `cluster.spec` (pools sizes) when it exists. */
  apply(
    cluster: ClusterDriverCluster,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster>;
  /** Starts upgrading the control plane to `version`. */
  upgradeControlPlane(
    cluster: ClusterDriverCluster,
    version: string,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster>;
  /** Starts upgrading one node pool to `version`. */
  upgradePool(
    cluster: ClusterDriverCluster,
    pool: string,
    version: string,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster>;
  /** Sets a pool's size. */
  scalePool(
    cluster: ClusterDriverCluster,
    pool: string,
    count: number,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster>;
  /** What runs now. */
  observe(
    cluster: ClusterDriverCluster,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster>;
  /** Deletes the cluster; deleting what is absent succeeds. */
  delete(
    cluster: ClusterDriverCluster,
    ctx: ClusterDriverCallContext,
  ): Promise<void>;
}

/**
 * Lets backend modules add cluster drivers.
 * @public
 */
export interface ControlPlaneClusterDriversExtensionPoint {
  addClusterDriver(...drivers: ClusterDriver[]): void;
}

/**
 * The extension point for cluster drivers.
 * @public
 */
export const controlPlaneClusterDriversExtensionPoint =
  createExtensionPoint<ControlPlaneClusterDriversExtensionPoint>({
    id: 'control-plane.cluster-drivers',
  });
