import { Config } from '@backstage/config';
import {
  OperationType,
  ownValue,
} from '@idp-multicloud/plugin-control-plane-common';
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
  connectionSecretRef,
  KubeObject,
  observeClaim,
  resolveClaimMappings,
  ResolvedClaimMapping,
} from './claims';
import { KubernetesDriverOptions, readKubernetesDriverOptions } from './config';
import { KubernetesCluster } from './KubernetesCluster';
import {
  dnsEndpoint,
  dnsEndpointRef,
  dnsHostname,
  networkPolicy,
  networkPolicyRef,
  serviceHost,
} from './networking';
import { describeRef, ObjectRef } from './objectRef';

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
 * The `kubernetes` driver: realises each resource as a Crossplane claim, applied with
 * server-side apply, on the cluster the control plane placed it on; opens it to its namespace
 * with a `NetworkPolicy` and publishes its name with an external-dns `DNSEndpoint`.
 * @public
 */
export class KubernetesDriver implements ControlPlaneDriver {
  /** Serves the providers whose `driver` is `kubernetes`. */
  readonly id = 'kubernetes';
  readonly #clusters = new Map<string, KubernetesCluster>();
  readonly #claims: Record<string, ResolvedClaimMapping>;

  /** Creates a driver from `controlPlane.kubernetes` (see the package's config.d.ts). */
  static fromConfig(config: Config): KubernetesDriver {
    return new KubernetesDriver(readKubernetesDriverOptions(config));
  }

  /** Reads every cluster's credentials now, so a misconfiguration fails at startup. */
  constructor(options: KubernetesDriverOptions) {
    for (const cluster of options.clusters) {
      if (this.#clusters.has(cluster.name)) {
        throw new Error(
          `Kubernetes cluster '${cluster.name}' is configured twice`,
        );
      }
      this.#clusters.set(cluster.name, new KubernetesCluster(cluster));
    }
    this.#claims = resolveClaimMappings(options.claims);
  }

  /** The ids of the clusters this driver can act on. */
  get clusters(): string[] {
    return [...this.#clusters.keys()];
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
    this.#cluster(target);
    this.#mapping(resource);
  }

  /**
   * The APIs of what this driver applies for the resource: its product's claim and the
   * NetworkPolicy that opens it. A cluster upgrade's pre-flight reads them.
   */
  async apisInUse(
    resource: DriverResource,
    _target: DriverTarget,
  ): Promise<string[]> {
    const { apiVersion, kind } = this.#mapping(resource);
    const policy = networkPolicyRef(resource);
    return [`${apiVersion}/${kind}`, `${policy.apiVersion}/${policy.kind}`];
  }

  /** Server-side applies the product's claim; returns what the claim says at once. */
  async apply(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    const claim = buildClaim(resource, target, ctx, this.#mapping(resource));
    const applied = await this.#cluster(target).apply(
      claim,
      claim,
      FIELD_MANAGER,
      ctx,
    );
    return observeClaim(applied);
  }

  /** Reads the claim: its conditions as the phase, its parameters for drift; `absent` without one. */
  async observe(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    const ref = this.#claimRef(resource);
    const claim = await this.#cluster(target).read(ref, ctx);
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
      const cluster = this.#cluster(target);
      const list = await cluster.list(ref, fieldSelector, ctx);
      const claim = list.items.find(
        i => i.metadata?.name === ref.metadata.name,
      );
      const now: ObservedResource = claim
        ? observeClaim(claim as KubeObject)
        : { phase: 'absent' };
      if (phases.includes(now.phase)) return now;
      const path = await cluster.collectionPath(ref, ctx);
      const reached = await cluster.watch(
        path,
        { fieldSelector, resourceVersion: list.metadata?.resourceVersion },
        ctx,
        (type, object) => {
          const observed: ObservedResource =
            type === 'DELETED' ? { phase: 'absent' } : observeClaim(object);
          return phases.includes(observed.phase) ? observed : undefined;
        },
      );
      if (reached) return reached;
    }
  }

  /** Deletes the claim in the foreground (its composed resources first); an absent claim is fine. */
  async delete(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    const ref = this.#claimRef(resource);
    await this.#cluster(target).delete(ref, ctx, 'Foreground');
  }

  /** Applies the NetworkPolicy `<name>-ingress`; returns the in-cluster host and the port. */
  async configureNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ host: string; port: number }> {
    const port = this.#port(resource);
    const policy = networkPolicy(resource, port);
    await this.#cluster(target).apply(
      networkPolicyRef(resource),
      policy,
      FIELD_MANAGER,
      ctx,
    );
    return { host: serviceHost(resource), port };
  }

  /** Deletes the NetworkPolicy `<name>-ingress`; an absent one is fine. */
  async removeNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.#cluster(target).delete(networkPolicyRef(resource), ctx);
  }

  /** Applies the DNSEndpoint `<name>-dns` for external-dns; returns the published hostname. */
  async registerDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ hostname: string }> {
    const hostname = dnsHostname(resource, target);
    const endpoint = dnsEndpoint(resource, hostname);
    await this.#cluster(target).apply(
      dnsEndpointRef(resource),
      endpoint,
      FIELD_MANAGER,
      ctx,
    );
    return { hostname };
  }

  /** Deletes the DNSEndpoint `<name>-dns`; an absent one is fine. */
  async deregisterDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.#cluster(target).delete(dnsEndpointRef(resource), ctx);
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
    const claim = await this.#cluster(target).read(ref, ctx);
    if (!claim) {
      throw new DriverError(
        `Cannot run '${operation.type}': ${describeRef(
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
      await this.#cluster(target).delete(connectionSecretRef(resource), ctx);
    }
    const annotated = {
      ...ref,
      metadata: { ...ref.metadata, annotations: { [annotation]: request } },
    };
    await this.#cluster(target).apply(
      ref,
      annotated,
      operationFieldManager(operation.type),
      ctx,
    );
    ctx.logger.info(`Requested ${operation.type} on ${describeRef(ref)}`, {
      cluster: target.cluster,
      step: operation.step,
    });
    return { requested: true, annotation };
  }

  #cluster(target: DriverTarget): KubernetesCluster {
    const cluster = this.#clusters.get(target.cluster);
    if (!cluster) {
      const known = this.clusters.join(', ') || 'none';
      throw new DriverError(
        `Kubernetes cluster '${target.cluster}' is not configured (controlPlane.kubernetes.clusters has: ${known})`,
        { retryable: false, code: 'UnknownCluster' },
      );
    }
    return cluster;
  }

  #mapping(resource: DriverResource): ResolvedClaimMapping {
    const mapping = ownValue(this.#claims, resource.product);
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
}
