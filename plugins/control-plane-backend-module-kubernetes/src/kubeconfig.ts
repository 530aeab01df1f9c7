import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesClusterConfig } from './config';

/**
 * Reads a cluster's credentials: either a `url` (with `token` and `caData`), or a
 * `kubeconfigPath` (with an optional `context`), never a mix of the two. Throws, naming the
 * cluster, on a misconfiguration, so that it fails at startup.
 */
export function loadKubeConfig(cluster: KubernetesClusterConfig): KubeConfig {
  const kc = new KubeConfig();
  if (
    cluster.kubeconfigPath &&
    (cluster.url || cluster.token || cluster.caData)
  ) {
    throw new Error(
      `Kubernetes cluster '${cluster.name}': url, token and caData do not go with kubeconfigPath`,
    );
  }
  if (cluster.url && cluster.context) {
    throw new Error(
      `Kubernetes cluster '${cluster.name}': context goes with kubeconfigPath, not url`,
    );
  }
  if (cluster.kubeconfigPath) {
    kc.loadFromFile(cluster.kubeconfigPath);
    if (cluster.context) {
      if (!kc.getContextObject(cluster.context)) {
        throw new Error(
          `Kubernetes cluster '${cluster.name}': context '${cluster.context}' is not in ${cluster.kubeconfigPath}`,
        );
      }
      kc.setCurrentContext(cluster.context);
    }
  } else if (cluster.url) {
    kc.loadFromOptions({
      clusters: [
        {
          name: cluster.name,
          server: cluster.url.replace(/\/+$/, ''),
          caData: cluster.caData,
          skipTLSVerify: cluster.skipTLSVerify ?? false,
        },
      ],
      users: [{ name: cluster.name, token: cluster.token }],
      contexts: [
        { name: cluster.name, cluster: cluster.name, user: cluster.name },
      ],
      currentContext: cluster.name,
    });
  } else {
    throw new Error(
      `Kubernetes cluster '${cluster.name}': set url (with token and caData) or kubeconfigPath`,
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(
      `Kubernetes cluster '${cluster.name}': the kubeconfig names no current cluster`,
    );
  }
  return kc;
}
