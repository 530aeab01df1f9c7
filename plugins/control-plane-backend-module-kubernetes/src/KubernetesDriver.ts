import { AsyncLocalStorage } from 'node:async_hooks';
import { Config } from '@backstage/config';
import {
  createConfiguration,
  KubeConfig,
  KubernetesObjectApi,
  Middleware,
  PatchStrategy,
  ServerConfiguration,
  V1NetworkPolicy,
  Watch,
} from '@kubernetes/client-node';
import { OperationType } from '@idp-multicloud/plugin-control-plane-common';
import {
  ControlPlaneDriver,
  DriverCallContext,
  DriverCapabilities,
  DriverError,
  DriverResource,
  DriverTarget,
  ObservedPhase,
  ObservedResource,
} from '@idp-multicloud/plugin-control-plane-node';
import {
  ANNOTATIONS,
  buildClaim,
  connectionSecretName,
  KubeObject,
  labelsOf,
  LABELS,
  observeClaim,
  resolveClaimMappings,
  ResolvedClaimMapping,
} from './claims';
import {
  KubernetesClusterConfig,
  KubernetesDriverOptions,
  readKubernetesDriverOptions,
} from './config';
import {
  isNotFound,
  isRetryableStatus,
  toDriverError,
  watchError,
} from './errors';

/** The field manager of everything the driver applies to claims, network policies and DNS. */
const FIELD_MANAGER = 'control-plane';

/**
 * Operation requests are applied by a field manager of their own, one per operation type, so
 * that applying the claim again does not remove the annotation, and one operation's request
 * does not remove another's.
 */
const operationFieldManager = (type: OperationType) =>
  `${FIELD_MANAGER}-operation-${type}`;

/**
 * The abort signal of the driver call in progress. `KubernetesObjectApi` takes no per-call
 * options, so a middleware set up with each client reads the signal from here.
 */
const callSignal = new AsyncLocalStorage<AbortSignal>();

const abortMiddleware: Middleware = {
  async pre(request) {
    const signal = callSignal.getStore();
    if (signal) {
      request.setSignal(signal);
    }
    return request;
  },
  async post(response) {
    return response;
  },
};

function loadKubeConfig(cluster: KubernetesClusterConfig): KubeConfig {
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

/** The object API, telling also the collection path of a kind (for watches). */
class ObjectApi extends KubernetesObjectApi {
  /** `/apis/<group>/<version>/namespaces/<namespace>/<plural>`, from discovery (cached). */
  async collectionPath(
    apiVersion: string,
    kind: string,
    namespace: string,
  ): Promise<string> {
    const found = await this.resource(apiVersion, kind);
    if (!found) {
      throw new DriverError(
        `The cluster does not serve ${apiVersion} ${kind}`,
        { retryable: false, code: 'NotFound' },
      );
    }
    const base = apiVersion.includes('/')
      ? `/apis/${apiVersion}`
      : `/api/${apiVersion}`;
    return `${base}/namespaces/${encodeURIComponent(namespace)}/${found.name}`;
  }
}

function createObjectApi(kc: KubeConfig): ObjectApi {
  return new ObjectApi(
    createConfiguration({
      baseServer: new ServerConfiguration(kc.getCurrentCluster()!.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [abortMiddleware],
    }),
  );
}

/**
 * The `kubernetes` driver: realises each resource as a Crossplane claim, applied with
 * server-side apply, on the cluster the control plane placed it on; opens it to its namespace
 * with a `NetworkPolicy` and publishes its name with an external-dns `DNSEndpoint`.
 * @public
 */
export class KubernetesDriver implements ControlPlaneDriver {
  /** Serves the providers whose `driver` is `kubernetes`. */
  readonly id = 'kubernetes';
  readonly #clients = new Map<string, ObjectApi>();
  readonly #kubeConfigs = new Map<string, KubeConfig>();
  readonly #claims: Record<string, ResolvedClaimMapping>;

  /** Creates a driver from `controlPlane.kubernetes` (see the package's config.d.ts). */
  static fromConfig(config: Config): KubernetesDriver {
    return new KubernetesDriver(readKubernetesDriverOptions(config));
  }

  /** Reads every cluster's credentials now, so a misconfiguration fails at startup. */
  constructor(options: KubernetesDriverOptions) {
    for (const cluster of options.clusters) {
      if (this.#clients.has(cluster.name)) {
        throw new Error(
          `Kubernetes cluster '${cluster.name}' is configured twice`,
        );
      }
      const kc = loadKubeConfig(cluster);
      this.#clients.set(cluster.name, createObjectApi(kc));
      this.#kubeConfigs.set(cluster.name, kc);
    }
    this.#claims = resolveClaimMappings(options.claims);
  }

  /** The ids of the clusters this driver can act on. */
  get clusters(): string[] {
    return [...this.#clients.keys()];
  }

  /** The products with a claim mapping, and the operations each one's compositions implement. */
  capabilities(): DriverCapabilities {
    return {
      products: Object.keys(this.#claims),
      operations: Object.fromEntries(
        Object.entries(this.#claims).map(([p, m]) => [p, [...m.operations]]),
      ),
    };
  }

  /** Checks the cluster is configured and the product has a claim mapping; no requests. */
  async plan(
    resource: DriverResource,
    target: DriverTarget,
    _ctx: DriverCallContext,
  ): Promise<void> {
    this.#client(target);
    this.#mapping(resource);
  }

  /** Server-side applies the product's claim; returns what the claim says at once. */
  async apply(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    const claim = buildClaim(resource, target, ctx, this.#mapping(resource));
    const applied = await this.#apply(claim, claim, FIELD_MANAGER, target, ctx);
    return observeClaim(applied);
  }

  /** Reads the claim: its conditions as the phase, its parameters for drift; `absent` without one. */
  async observe(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    const claim = await this.#read(this.#claimRef(resource), target, ctx);
    return claim ? observeClaim(claim) : { phase: 'absent' };
  }

  /**
   * Waits until the claim's phase is one of `phases` by list-then-watch: lists the claim
   * (by name) for its state now and the collection's resource version, then watches from
   * that version and resolves on the first change that reaches a wanted phase (a deletion
   * reads as `absent`). A watch that ends or expires (410 Gone) lists again; nothing polls.
   */
  async awaitPhase(
    resource: DriverResource,
    target: DriverTarget,
    phases: ObservedPhase[],
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    const ref = this.#claimRef(resource);
    const fieldSelector = `metadata.name=${ref.metadata.name}`;
    for (;;) {
      ctx.signal.throwIfAborted();
      const list = await this.#call(target, ctx, `list ${describe(ref)}`, api =>
        api.list<KubeObject>(
          ref.apiVersion,
          ref.kind,
          ref.metadata.namespace,
          undefined,
          undefined,
          undefined,
          fieldSelector,
        ),
      );
      const claim = list.items.find(
        i => i.metadata?.name === ref.metadata.name,
      );
      const now: ObservedResource = claim
        ? observeClaim(claim as KubeObject)
        : { phase: 'absent' };
      if (phases.includes(now.phase)) return now;
      const path = await this.#call(target, ctx, `discover ${ref.kind}`, api =>
        (api as ObjectApi).collectionPath(
          ref.apiVersion,
          ref.kind,
          ref.metadata.namespace,
        ),
      );
      const reached = await this.#watch(
        target,
        ctx,
        path,
        { fieldSelector, resourceVersion: list.metadata?.resourceVersion },
        (type, object) => {
          const observed: ObservedResource =
            type === 'DELETED' ? { phase: 'absent' } : observeClaim(object);
          return phases.includes(observed.phase) ? observed : undefined;
        },
      );
      if (reached) return reached;
    }
  }

  /**
   * Watches a collection until `until` returns something for an event (resolving with it),
   * the watch ends or expires (resolving undefined: list again), or fails (rejecting).
   */
  #watch<T>(
    target: DriverTarget,
    ctx: DriverCallContext,
    path: string,
    query: { fieldSelector: string; resourceVersion?: string },
    until: (type: string, object: KubeObject) => T | undefined,
  ): Promise<T | undefined> {
    const kc = this.#kubeConfigs.get(target.cluster)!;
    const action = `watch ${path} on cluster ${target.cluster}`;
    return new Promise<T | undefined>((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const stop = new AbortController(); // removes the abort listener below
      const finish = (value: T | undefined, error?: unknown) => {
        if (settled) return;
        settled = true;
        stop.abort();
        controller?.abort();
        if (error) reject(error);
        else resolve(value);
      };
      ctx.signal.addEventListener(
        'abort',
        () => finish(undefined, ctx.signal.reason),
        { once: true, signal: stop.signal },
      );
      new Watch(kc)
        .watch(
          path,
          query,
          (type: string, object: KubeObject) => {
            if (type === 'ERROR') {
              const status = object as unknown as {
                code?: number;
                message?: string;
              };
              if (status.code === 410) finish(undefined); // expired: list again
              else
                finish(
                  undefined,
                  new DriverError(
                    `${action} failed: ${status.code} ${status.message}`,
                    {
                      retryable: isRetryableStatus(status.code),
                    },
                  ),
                );
              return;
            }
            const value = until(type, object);
            if (value !== undefined) finish(value);
          },
          (error: unknown) => {
            if (!error) finish(undefined);
            else
              finish(
                undefined,
                watchError(error as { statusCode?: number }, action),
              );
          },
        )
        .then(
          c => {
            controller = c;
            if (settled) c.abort();
          },
          error => finish(undefined, toDriverError(error, action)),
        );
    });
  }

  /** Deletes the claim in the foreground (its composed resources first); an absent claim is fine. */
  async delete(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.#delete(this.#claimRef(resource), target, ctx, 'Foreground');
  }

  /** Applies the NetworkPolicy `<name>-ingress`; returns the in-cluster host and the port. */
  async configureNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ host: string; port: number }> {
    const port = this.#port(resource);
    const ref = networkPolicyRef(resource);
    // typed: the client serializes known kinds through its models, where `from` is `_from`
    const policy: V1NetworkPolicy = {
      ...ref,
      metadata: { ...ref.metadata, labels: labelsOf(resource) },
      spec: {
        podSelector: { matchLabels: { [LABELS.resourceUid]: resource.uid } },
        policyTypes: ['Ingress'],
        // from every pod of the resource's namespace, to its port only
        ingress: [
          { _from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port }] },
        ],
      },
    };
    await this.#apply(ref, policy, FIELD_MANAGER, target, ctx);
    return { host: serviceHost(resource), port };
  }

  /** Deletes the NetworkPolicy `<name>-ingress`; an absent one is fine. */
  async removeNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.#delete(networkPolicyRef(resource), target, ctx);
  }

  /** Applies the DNSEndpoint `<name>-dns` for external-dns; returns the published hostname. */
  async registerDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ hostname: string }> {
    const hostname = `${resource.name}.${resource.namespace}.${target.cell}.idp.internal`;
    const ref = dnsEndpointRef(resource);
    const endpoint = {
      ...ref,
      metadata: { ...ref.metadata, labels: labelsOf(resource) },
      spec: {
        endpoints: [
          {
            dnsName: hostname,
            recordType: 'CNAME',
            targets: [serviceHost(resource)],
          },
        ],
      },
    };
    await this.#apply(ref, endpoint, FIELD_MANAGER, target, ctx);
    return { hostname };
  }

  /** Deletes the DNSEndpoint `<name>-dns`; an absent one is fine. */
  async deregisterDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.#delete(dnsEndpointRef(resource), target, ctx);
  }

  /**
   * Asks the claim's composition to run one step of an operation, by annotating the claim with
   * `idp.multicloud/operation-<type>` = `{"step","params","token"}`. A step already requested
   * under the same idempotency token is not requested again. The `rotate` step of
   * `rotate-credentials` also deletes the connection secret, so that the provider issues it
   * anew (later steps, such as `restart_consumers`, leave the new one alone).
   */
  async runOperation(
    operation: {
      type: OperationType;
      step: string;
      params: Record<string, unknown>;
    },
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<Record<string, unknown>> {
    const mapping = this.#mapping(resource);
    if (!mapping.operations.includes(operation.type)) {
      throw new DriverError(
        `The kubernetes driver does not run '${operation.type}' on product '${resource.product}'`,
        { retryable: false, code: 'UnsupportedOperation' },
      );
    }
    const ref = this.#claimRef(resource);
    const annotation = ANNOTATIONS.operation(operation.type);
    const claim = await this.#read(ref, target, ctx);
    if (!claim) {
      throw new DriverError(
        `Cannot run '${operation.type}': ${describe(
          ref,
        )} does not exist on cluster ${target.cluster}`,
        { retryable: false, code: 'NotFound' },
      );
    }
    const request = JSON.stringify({
      step: operation.step,
      params: operation.params,
      token: ctx.idempotencyToken,
    });
    if (claim.metadata.annotations?.[annotation] === request) {
      return { requested: true, annotation };
    }

    if (
      operation.type === 'rotate-credentials' &&
      operation.step === 'rotate'
    ) {
      await this.#delete(connectionSecretRef(resource), target, ctx);
    }
    const annotated = {
      ...ref,
      metadata: { ...ref.metadata, annotations: { [annotation]: request } },
    };
    await this.#apply(
      ref,
      annotated,
      operationFieldManager(operation.type),
      target,
      ctx,
    );
    ctx.logger.info(`Requested ${operation.type} on ${describe(ref)}`, {
      cluster: target.cluster,
      step: operation.step,
    });
    return { requested: true, annotation };
  }

  #client(target: DriverTarget): ObjectApi {
    const client = this.#clients.get(target.cluster);
    if (!client) {
      const known = this.clusters.join(', ') || 'none';
      throw new DriverError(
        `Kubernetes cluster '${target.cluster}' is not configured (controlPlane.kubernetes.clusters has: ${known})`,
        { retryable: false, code: 'UnknownCluster' },
      );
    }
    return client;
  }

  #mapping(resource: DriverResource): ResolvedClaimMapping {
    const mapping = this.#claims[resource.product];
    if (!mapping) {
      throw new DriverError(
        `Product '${resource.product}' has no claim mapping (controlPlane.kubernetes.claims)`,
        { retryable: false, code: 'UnsupportedProduct' },
      );
    }
    return mapping;
  }

  #claimRef(resource: DriverResource): ObjectRef {
    const { apiVersion, kind } = this.#mapping(resource);
    return {
      apiVersion,
      kind,
      metadata: { name: resource.name, namespace: resource.namespace },
    };
  }

  #port(resource: DriverResource): number {
    const fromParams = resource.params.port;
    if (
      typeof fromParams === 'number' &&
      Number.isInteger(fromParams) &&
      fromParams > 0
    ) {
      return fromParams;
    }
    const port = this.#mapping(resource).port;
    if (!port) {
      throw new DriverError(
        `Product '${resource.product}' has no port: set controlPlane.kubernetes.claims.${resource.product}.port`,
        { retryable: false, code: 'UnsupportedProduct' },
      );
    }
    return port;
  }

  /** Server-side apply: creates the object or updates the fields `fieldManager` owns. */
  async #apply(
    ref: ObjectRef,
    object: object,
    fieldManager: string,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<KubeObject> {
    const applied = await this.#call(
      target,
      ctx,
      `apply ${describe(ref)}`,
      api =>
        api.patch(
          object as KubeObject,
          undefined,
          undefined,
          fieldManager,
          true,
          PatchStrategy.ServerSideApply,
        ),
    );
    ctx.logger.debug(`Applied ${describe(ref)}`, {
      cluster: target.cluster,
      fieldManager,
    });
    return applied;
  }

  /**
   * Reads an object; `undefined` when it is absent. A cluster that does not serve the object's
   * API group at all also answers 404 (at discovery), which reads as absent too.
   */
  async #read(
    ref: ObjectRef,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<KubeObject | undefined> {
    return this.#call(target, ctx, `read ${describe(ref)}`, async api => {
      try {
        return await api.read<KubeObject>(ref);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  /** Deletes an object; deleting what is absent succeeds. */
  async #delete(
    ref: ObjectRef,
    target: DriverTarget,
    ctx: DriverCallContext,
    propagationPolicy?: 'Foreground',
  ): Promise<void> {
    await this.#call(target, ctx, `delete ${describe(ref)}`, async api => {
      try {
        await api.delete(
          ref,
          undefined,
          undefined,
          undefined,
          undefined,
          propagationPolicy,
        );
        ctx.logger.debug(`Deleted ${describe(ref)}`, {
          cluster: target.cluster,
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    });
  }

  /** Runs `fn` with the cluster's client and the call's abort signal; maps what it throws. */
  async #call<T>(
    target: DriverTarget,
    ctx: DriverCallContext,
    action: string,
    fn: (api: KubernetesObjectApi) => Promise<T>,
  ): Promise<T> {
    const api = this.#client(target);
    try {
      return await callSignal.run(ctx.signal, () => fn(api));
    } catch (error) {
      throw toDriverError(error, `${action} on cluster ${target.cluster}`);
    }
  }
}

/** What names an object: enough to read or delete it. */
interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
}

function describe(ref: ObjectRef): string {
  return `${ref.kind} ${ref.metadata.namespace}/${ref.metadata.name}`;
}

function serviceHost(resource: DriverResource): string {
  return `${resource.name}.${resource.namespace}.svc.cluster.local`;
}

function networkPolicyRef(resource: DriverResource): ObjectRef {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: `${resource.name}-ingress`,
      namespace: resource.namespace,
    },
  };
}

function dnsEndpointRef(resource: DriverResource): ObjectRef {
  return {
    apiVersion: 'externaldns.k8s.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: { name: `${resource.name}-dns`, namespace: resource.namespace },
  };
}

function connectionSecretRef(resource: DriverResource): ObjectRef {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: connectionSecretName(resource),
      namespace: resource.namespace,
    },
  };
}
