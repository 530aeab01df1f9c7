import { LoggerService } from '@backstage/backend-plugin-api';
import {
  DriverError,
  parseTrafficRouting,
  TrafficCallContext,
  TrafficRouter,
  TrafficRouting,
  TrafficTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { KubernetesClusterConfig } from './config';
import {
  buildHttpRoute,
  GatewayApiRoutingOptions,
  httpRouteRef,
  ROUTE_ANNOTATIONS,
} from './httpRoute';
import { KubernetesCluster } from './KubernetesCluster';

/** The field manager of the HTTPRoutes. */
const FIELD_MANAGER = 'control-plane-traffic';

/**
 * The `gateway-api` traffic router: a resource's split as a Gateway API `HTTPRoute` (weighted
 * `backendRefs` to the `<name>-stable` and `<name>-canary` Services, an exact header match per
 * canary header), server-side applied on the target's cluster. Per-cell weights take the
 * weight of the cell the cluster is in (`cells` of the options name it).
 * @public
 */
export class GatewayApiTrafficRouter implements TrafficRouter {
  readonly id = 'gateway-api';
  readonly #clusters = new Map<string, KubernetesCluster>();

  constructor(
    private readonly options: GatewayApiRoutingOptions & {
      /** The clusters, as the driver's. */
      clusters: KubernetesClusterConfig[];
      /** The cell of each cluster, by cluster name. */
      cellOf?: ReadonlyMap<string, string>;
      logger: LoggerService;
    },
  ) {
    for (const cluster of options.clusters) {
      this.#clusters.set(cluster.name, new KubernetesCluster(cluster));
    }
  }

  async setRouting(
    target: TrafficTarget,
    routing: TrafficRouting,
    ctx: TrafficCallContext,
  ): Promise<TrafficRouting> {
    const parsed = parseTrafficRouting(routing, target);
    const cluster = this.#cluster(target);
    const route = buildHttpRoute(
      target,
      parsed,
      this.options,
      this.options.cellOf?.get(cluster.name),
      ctx.idempotencyToken,
    );
    await cluster.apply(
      httpRouteRef(target),
      route.toJSON(),
      FIELD_MANAGER,
      this.#ctx(ctx.idempotencyToken, ctx.signal),
    );
    return parsed;
  }

  async getRouting(
    target: TrafficTarget,
    options?: { signal?: AbortSignal },
  ): Promise<TrafficRouting | undefined> {
    const route = await this.#cluster(target).read(
      httpRouteRef(target),
      this.#ctx('get-routing', options?.signal),
    );
    const json = route?.metadata?.annotations?.[ROUTE_ANNOTATIONS.routing];
    return json ? parseTrafficRouting(JSON.parse(json)) : undefined;
  }

  #cluster(target: TrafficTarget): KubernetesCluster {
    const name = target.cluster ?? this.options.clusters[0]?.name;
    const cluster = name === undefined ? undefined : this.#clusters.get(name);
    if (!cluster) {
      throw new DriverError(
        `Kubernetes cluster '${
          name ?? '(none)'
        }' is not configured for traffic routing`,
        { retryable: false, code: 'UnknownCluster' },
      );
    }
    return cluster;
  }

  #ctx(token: string, signal = new AbortController().signal) {
    return {
      idempotencyToken: token,
      operationId: token.split(':')[0],
      signal,
      logger: this.options.logger,
    };
  }
}
