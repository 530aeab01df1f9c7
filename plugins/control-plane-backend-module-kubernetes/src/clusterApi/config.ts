import { Config } from '@backstage/config';
import { KubernetesCluster } from '../KubernetesCluster';
import { readKubernetesDriverOptions } from '../config';
import { ClusterApiDriver } from './ClusterApiDriver';

/**
 * The Cluster API driver `controlPlane.kubernetes.clusterApi` configures (see config.d.ts),
 * or undefined when it is not configured.
 */
export function clusterApiDriverFromConfig(
  config: Config,
): ClusterApiDriver | undefined {
  const c = config.getOptionalConfig('controlPlane.kubernetes.clusterApi');
  if (!c) return undefined;
  const name = c.getString('managementCluster');
  const management = readKubernetesDriverOptions(config).clusters.find(
    x => x.name === name,
  );
  if (!management) {
    throw new Error(
      `controlPlane.kubernetes.clusterApi.managementCluster: no cluster ${name} under controlPlane.kubernetes.clusters`,
    );
  }
  return new ClusterApiDriver(
    c.getOptionalString('driver') ?? 'kubernetes',
    new KubernetesCluster(management),
    {
      namespace: c.getOptionalString('namespace') ?? 'idp-clusters',
      clusterClass: c.getString('clusterClass'),
      controlPlaneReplicas: c.getOptionalNumber('controlPlaneReplicas'),
    },
  );
}
