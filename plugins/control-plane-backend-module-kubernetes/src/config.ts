import { Config } from '@backstage/config';
import {
  OperationType,
  operationTypes,
} from '@idp-multicloud/plugin-control-plane-common';
import { KubernetesClaimMapping } from './claims';

/**
 * How to reach one cluster: either its API server URL with a token and CA, or a kubeconfig
 * file (and optionally one of its contexts).
 * @public
 */
export interface KubernetesClusterConfig {
  /** The control plane's id of the cluster, e.g. `aws-us-east-1`. */
  name: string;
  /** The API server's URL, e.g. `https://k8s.example.com:6443`. */
  url?: string;
  /** A bearer token (e.g. of a service account). */
  token?: string;
  /** The API server's CA certificate, PEM, base64-encoded as in a kubeconfig. */
  caData?: string;
  /** Accept any server certificate; also required for a plain `http:` URL. */
  skipTLSVerify?: boolean;
  /** A kubeconfig file, instead of `url`. */
  kubeconfigPath?: string;
  /** The kubeconfig context to use; its current context when left out. */
  context?: string;
}

/**
 * What the Kubernetes driver needs to know.
 * @public
 */
export interface KubernetesDriverOptions {
  /** The clusters the driver acts on, by the control plane's cluster id. */
  clusters: KubernetesClusterConfig[];
  /**
   * Claim mappings per product, laid over the built-in ones (`mysql`, `postgres`, `redis`,
   * `kafka`, `object-bucket`, `webapp`).
   */
  claims?: Record<string, Partial<KubernetesClaimMapping>>;
}

/** Reads `controlPlane.kubernetes` (see config.d.ts). */
export function readKubernetesDriverOptions(
  config: Config,
): KubernetesDriverOptions {
  const root = config.getOptionalConfig('controlPlane.kubernetes');
  const clusters = (root?.getOptionalConfigArray('clusters') ?? []).map(c => ({
    name: c.getString('name'),
    url: c.getOptionalString('url'),
    token: c.getOptionalString('token'),
    caData: c.getOptionalString('caData'),
    skipTLSVerify: c.getOptionalBoolean('skipTLSVerify'),
    kubeconfigPath: c.getOptionalString('kubeconfigPath'),
    context: c.getOptionalString('context'),
  }));

  const claims: [string, Partial<KubernetesClaimMapping>][] = [];
  const claimsConfig = root?.getOptionalConfig('claims');
  for (const product of claimsConfig?.keys() ?? []) {
    const c = claimsConfig!.getConfig(product);
    const operations = c.getOptionalStringArray('operations');
    const unknown = operations?.filter(
      o => !(operationTypes as readonly string[]).includes(o),
    );
    if (unknown?.length) {
      throw new Error(
        `controlPlane.kubernetes.claims.${product}.operations: unknown operation(s) ${unknown.join(
          ', ',
        )}; known: ${operationTypes.join(', ')}`,
      );
    }
    claims.push([
      product,
      {
        apiVersion: c.getOptionalString('apiVersion'),
        kind: c.getOptionalString('kind'),
        port: c.getOptionalNumber('port'),
        operations: operations as OperationType[] | undefined,
      },
    ]);
  }
  return { clusters, claims: Object.fromEntries(claims) };
}
