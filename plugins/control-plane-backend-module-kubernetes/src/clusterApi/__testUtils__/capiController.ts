import { FakeKubernetes, FakeKind } from '../../__testUtils__/fakeKubernetes';
import {
  CAPI_VERSION,
  CapiCluster,
  CapiCondition,
  CLUSTER_NAME_LABEL,
  DEPLOYMENT_NAME_LABEL,
  isHeld,
} from '../manifests';

/** The Cluster API kinds the fake serves, beside its default ones. */
export const capiKinds: FakeKind[] = [
  { apiVersion: CAPI_VERSION, kind: 'Cluster', plural: 'clusters' },
  {
    apiVersion: CAPI_VERSION,
    kind: 'MachineDeployment',
    plural: 'machinedeployments',
  },
];

/**
 * Plays Cluster API's topology controller on the fake API server, one stage per call of
 * {@link CapiController.reconcile}: first it sees the Cluster's new generation (phase
 * Provisioning, `observedGeneration` caught up, Ready False while the control plane rolls),
 * then it converges (control plane ready, each machine deployment at the topology's replicas
 * and version, unless held by the defer-upgrade annotation; phase Provisioned, Ready True).
 * A version in `failing` never converges: ControlPlaneReady False with severity Error.
 */
export class CapiController {
  readonly failing = new Set<string>();
  constructor(
    private readonly fake: FakeKubernetes,
    private readonly namespace: string,
  ) {}

  private cluster(name: string): CapiCluster {
    const c = this.fake.get(CAPI_VERSION, 'Cluster', this.namespace, name);
    if (!c) throw new Error(`no Cluster ${name}`);
    return c as CapiCluster;
  }

  private setStatus(name: string, status: CapiCluster['status']) {
    this.fake.setStatus(
      CAPI_VERSION,
      'Cluster',
      this.namespace,
      name,
      status as any,
    );
  }

  /** One stage of reconciliation; returns what it did. */
  reconcile(name: string): 'observed' | 'converged' | 'failed' | 'idle' {
    const c = this.cluster(name);
    const status = c.status ?? {};
    const generation = c.metadata.generation ?? 1;
    const condition = (
      type: string,
      ok: boolean,
      extra: Partial<
        Pick<CapiCondition, 'reason' | 'severity' | 'message'>
      > = {},
    ): CapiCondition => ({
      type,
      status: ok ? 'True' : 'False',
      lastTransitionTime: new Date().toISOString(),
      ...extra,
    });
    if ((status.observedGeneration ?? 0) < generation) {
      this.setStatus(name, {
        phase: 'Provisioning',
        observedGeneration: generation,
        conditions: [
          condition('Ready', false, {
            reason: 'TopologyReconciling',
            severity: 'Info',
          }),
          condition('ControlPlaneReady', false, {
            reason: 'RollingUpdate',
            severity: 'Info',
          }),
          condition('TopologyReconciled', false, {
            reason: 'Reconciling',
            severity: 'Info',
          }),
        ],
      });
      return 'observed';
    }
    if (status.phase === 'Provisioned') return 'idle';
    const version = c.spec.topology.version;
    if (this.failing.has(version)) {
      this.setStatus(name, {
        ...status,
        phase: 'Provisioning',
        conditions: [
          condition('Ready', false, {
            reason: 'ControlPlaneUpgradeFailed',
            severity: 'Error',
          }),
          condition('ControlPlaneReady', false, {
            reason: 'ControlPlaneUpgradeFailed',
            severity: 'Error',
            message: `machines of the control plane do not come up at ${version}`,
          }),
        ],
      });
      return 'failed';
    }
    for (const t of c.spec.topology.workers.machineDeployments) {
      const mdName = `${name}-${t.name}`;
      const existing = this.fake.get(
        CAPI_VERSION,
        'MachineDeployment',
        this.namespace,
        mdName,
      );
      const held = isHeld(t);
      const mdVersion =
        held && existing ? existing.spec.template.spec.version : version;
      this.fake.put({
        apiVersion: CAPI_VERSION,
        kind: 'MachineDeployment',
        metadata: {
          name: mdName,
          namespace: this.namespace,
          labels: {
            [CLUSTER_NAME_LABEL]: name,
            [DEPLOYMENT_NAME_LABEL]: t.name,
          },
        },
        spec: {
          replicas: t.replicas,
          template: { spec: { version: mdVersion } },
        },
        status: {
          replicas: t.replicas,
          readyReplicas: t.replicas,
          phase: 'Running',
        },
      });
    }
    this.setStatus(name, {
      phase: 'Provisioned',
      observedGeneration: generation,
      controlPlaneReady: true,
      conditions: [
        condition('Ready', true),
        condition('ControlPlaneReady', true),
        condition('TopologyReconciled', true),
      ],
    });
    return 'converged';
  }
}
