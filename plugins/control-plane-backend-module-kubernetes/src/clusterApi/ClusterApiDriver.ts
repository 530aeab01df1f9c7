import {
  ClusterDriver,
  ClusterDriverCallContext,
  ClusterDriverCluster,
  DriverError,
  ObservedCluster,
} from '@idp-multicloud/plugin-control-plane-node';
import { KubernetesCluster } from '../KubernetesCluster';
import {
  CAPI_VERSION,
  CapiCluster,
  capiClusterOf,
  CapiMachineDeployment,
  capiVersion,
  CLUSTER_NAME_LABEL,
  ClusterApiSettings,
  DEPLOYMENT_NAME_LABEL,
  fromCapiVersion,
  isHeld,
  capiClusterSchema,
  capiMachineDeploymentSchema,
  parseCapi,
  validateCapiCluster,
} from './manifests';

const FIELD_MANAGER = 'idp-control-plane-clusters';

/**
 * Clusters as Cluster API `Cluster`s with a ClusterClass topology, on a management cluster:
 * created and scaled by server-side apply of the topology (replicas per machine deployment),
 * upgraded by `spec.topology.version` — the control plane first, with every machine deployment
 * held back by `topology.cluster.x-k8s.io/defer-upgrade`, then one pool at a time by lifting
 * its hold — and observed from the Cluster's phase, conditions and `observedGeneration` and
 * its machine deployments' status. The kubeconfig Secret Cluster API writes is referenced,
 * never read.
 * @public
 */
export class ClusterApiDriver implements ClusterDriver {
  constructor(
    readonly id: string,
    private readonly management: KubernetesCluster,
    private readonly settings: ClusterApiSettings,
  ) {}

  private ref(name: string) {
    return {
      apiVersion: CAPI_VERSION,
      kind: 'Cluster',
      metadata: { name, namespace: this.settings.namespace },
    };
  }

  private async read(
    name: string,
    ctx: ClusterDriverCallContext,
  ): Promise<CapiCluster | undefined> {
    const raw = await this.management.read(this.ref(name), ctx);
    if (raw === undefined) return undefined;
    const parsed = parseCapi(capiClusterSchema, raw);
    if (!parsed.ok) {
      throw new DriverError(
        `Cluster ${name} of the management cluster is not a Cluster API v1beta1 Cluster with a topology: ${parsed.issues.join(
          '; ',
        )}`,
        { retryable: false, code: 'Invalid' },
      );
    }
    return parsed.value;
  }

  private async write(
    cluster: ClusterDriverCluster,
    options: Parameters<typeof capiClusterOf>[2],
    ctx: ClusterDriverCallContext,
  ) {
    const manifest = capiClusterOf(cluster, this.settings, options);
    const issues = validateCapiCluster(manifest);
    if (issues.length) {
      throw new DriverError(
        `invalid Cluster ${cluster.name}: ${issues.join('; ')}`,
        {
          retryable: false,
          code: 'Invalid',
        },
      );
    }
    await this.management.apply(
      this.ref(cluster.name),
      manifest,
      FIELD_MANAGER,
      ctx,
    );
  }

  /** What the existing Cluster says: its version, replicas and held pools. */
  private async current(
    cluster: ClusterDriverCluster,
    ctx: ClusterDriverCallContext,
  ) {
    const existing = await this.read(cluster.name, ctx);
    if (!existing) {
      throw new DriverError(`Cluster ${cluster.name} does not exist`, {
        retryable: false,
        code: 'NotFound',
      });
    }
    const mds = existing.spec.topology.workers.machineDeployments;
    return {
      version: fromCapiVersion(existing.spec.topology.version)!,
      replicas: Object.fromEntries(mds.map(md => [md.name, md.replicas])),
      deferred: mds.filter(isHeld).map(md => md.name),
    };
  }

  async apply(cluster: ClusterDriverCluster, ctx: ClusterDriverCallContext) {
    if (!(await this.read(cluster.name, ctx))) {
      await this.write(cluster, { version: cluster.spec.version }, ctx);
    }
    return this.observe(cluster, ctx);
  }

  async upgradeControlPlane(
    cluster: ClusterDriverCluster,
    version: string,
    ctx: ClusterDriverCallContext,
  ) {
    const now = await this.current(cluster, ctx);
    if (capiVersion(now.version) !== capiVersion(version)) {
      await this.write(
        cluster,
        {
          version,
          replicas: now.replicas,
          // every pool stays where it is until its own step
          deferred: cluster.spec.nodePools.map(p => p.name),
        },
        ctx,
      );
    }
    return this.observe(cluster, ctx);
  }

  async upgradePool(
    cluster: ClusterDriverCluster,
    pool: string,
    version: string,
    ctx: ClusterDriverCallContext,
  ) {
    const now = await this.current(cluster, ctx);
    // Lifting the hold takes the pool to the topology's version: this one.
    const moves = capiVersion(now.version) !== capiVersion(version);
    if (moves || now.deferred.includes(pool)) {
      await this.write(
        cluster,
        {
          version: moves ? version : now.version,
          replicas: now.replicas,
          deferred: now.deferred.filter(p => p !== pool),
        },
        ctx,
      );
    }
    return this.observe(cluster, ctx);
  }

  async scalePool(
    cluster: ClusterDriverCluster,
    pool: string,
    count: number,
    ctx: ClusterDriverCallContext,
  ) {
    const now = await this.current(cluster, ctx);
    await this.write(
      cluster,
      {
        version: now.version,
        replicas: { ...now.replicas, [pool]: count },
        deferred: now.deferred,
      },
      ctx,
    );
    return this.observe(cluster, ctx);
  }

  async observe(
    cluster: ClusterDriverCluster,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster> {
    const c = await this.read(cluster.name, ctx);
    if (!c) {
      return {
        phase: 'absent',
        controlPlaneVersion: null,
        pools: [],
        conditions: [],
      };
    }
    const all = await this.management.list(
      {
        apiVersion: CAPI_VERSION,
        kind: 'MachineDeployment',
        metadata: { name: '', namespace: this.settings.namespace },
      },
      '',
      ctx,
    );
    const mds: CapiMachineDeployment[] = [];
    for (const item of all.items) {
      const parsed = parseCapi(capiMachineDeploymentSchema, item);
      if (!parsed.ok) {
        throw new DriverError(
          `a MachineDeployment of ${
            cluster.name
          } is not a Cluster API v1beta1 MachineDeployment: ${parsed.issues.join(
            '; ',
          )}`,
          { retryable: false, code: 'Invalid' },
        );
      }
      if (parsed.value.metadata.labels?.[CLUSTER_NAME_LABEL] === cluster.name) {
        mds.push(parsed.value);
      }
    }
    const status = c.status ?? {};
    const conditions = status.conditions ?? [];
    const condition = (type: string) => conditions.find(x => x.type === type);
    const seen =
      (status.observedGeneration ?? 0) >= (c.metadata.generation ?? 1);
    const topologyVersion = c.spec.topology.version;
    const cpReady = condition('ControlPlaneReady')?.status === 'True';
    const pools = c.spec.topology.workers.machineDeployments.map(t => {
      const md = mds.find(
        m => m.metadata.labels?.[DEPLOYMENT_NAME_LABEL] === t.name,
      );
      const nodes = md?.status?.replicas ?? 0;
      const ready = md?.status?.readyReplicas ?? 0;
      const version = md?.spec.template.spec.version;
      const held = isHeld(t);
      return {
        name: t.name,
        version: fromCapiVersion(version),
        nodes,
        ready,
        settled:
          !!md &&
          nodes === t.replicas &&
          ready === t.replicas &&
          (held || version === topologyVersion),
      };
    });
    const phase = ((): ObservedCluster['phase'] => {
      if (c.metadata.deletionTimestamp || status.phase === 'Deleting') {
        return 'deleting';
      }
      if (status.phase === 'Failed') return 'failed';
      if (!seen || !cpReady || pools.some(p => !p.settled)) {
        return 'provisioning';
      }
      return condition('Ready')?.status === 'True' ? 'ready' : 'degraded';
    })();
    const errors = conditions.filter(
      x => x.status === 'False' && x.severity === 'Error',
    );
    const failed = errors.find(x => x.message) ?? errors[0];
    return {
      phase: failed && phase === 'provisioning' ? 'failed' : phase,
      // the control plane runs the topology's version once the controller reports it ready
      controlPlaneVersion:
        seen && cpReady ? fromCapiVersion(topologyVersion) : null,
      pools: pools.map(({ name, version, nodes, ready }) => ({
        name,
        version,
        nodes,
        ready,
      })),
      conditions: [
        ...conditions.map(x => ({
          type: x.type,
          status: x.status,
          ...(x.reason ? { reason: x.reason } : {}),
          ...(x.message ? { message: x.message } : {}),
        })),
        {
          type: 'NodesReady',
          status: pools.every(p => p.ready === p.nodes) ? 'True' : 'False',
        },
      ],
      kubeconfigSecretRef: `${this.settings.namespace}/${cluster.name}-kubeconfig`,
      ...(failed ? { message: failed.message ?? failed.reason } : {}),
    };
  }

  async delete(cluster: ClusterDriverCluster, ctx: ClusterDriverCallContext) {
    await this.management.delete(this.ref(cluster.name), ctx);
  }
}
