/*
 * A resource's traffic split as a Gateway API `HTTPRoute`: requests carrying a canary header go
 * to the canary's Service, the rest are split by weight between the stable and canary
 * Services. Built with the typed models of `@kubernetes-models/gateway-api` and validated
 * against the Gateway API's schema before anything is sent.
 */
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import {
  canaryWeightIn,
  TrafficRouting,
  TrafficTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { ObjectRef } from './objectRef';

/**
 * Where the routes hang and where they send requests.
 * @public
 */
export interface GatewayApiRoutingOptions {
  /** The Gateways (listeners) the routes attach to. */
  parentRefs: Array<{ name: string; namespace?: string; sectionName?: string }>;
  /** The port of the stable and canary Services. Default 8080. */
  port?: number;
}

const PREFIX = 'idp.multicloud';

/** The annotations the router writes on its HTTPRoutes. */
export const ROUTE_ANNOTATIONS = {
  /** The routing as set, JSON: what `getRouting` answers (it holds every cell's weight). */
  routing: `${PREFIX}/traffic-routing`,
  idempotencyToken: `${PREFIX}/idempotency-token`,
} as const;

/** The HTTPRoute `<name>` in the resource's namespace. */
export function httpRouteRef(target: TrafficTarget): ObjectRef {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: target.name, namespace: target.namespace },
  };
}

/** The Services of the two versions: `<name>-stable` and `<name>-canary`. */
export const stableService = (target: TrafficTarget) => `${target.name}-stable`;
export const canaryService = (target: TrafficTarget) => `${target.name}-canary`;

/**
 * The HTTPRoute for a routing on a cluster of `cell`: a rule per canary header (exact match)
 * to the canary, then the weighted split (the cell's own weight when the routing names it).
 * Throws when the Gateway API schema refuses the result.
 * @public
 */
export function buildHttpRoute(
  target: TrafficTarget,
  routing: TrafficRouting,
  options: GatewayApiRoutingOptions,
  cell: string | undefined,
  idempotencyToken: string,
): HTTPRoute {
  const ref = httpRouteRef(target);
  const port = options.port ?? 8080;
  const canaryWeight = routing.canary ? canaryWeightIn(routing, cell) : 0;
  const stable = { name: stableService(target), port };
  const canary = { name: canaryService(target), port };
  const rules: NonNullable<HTTPRoute['spec']['rules']> = [];
  if (routing.canary && routing.headerMatches?.length) {
    rules.push({
      matches: routing.headerMatches.map(h => ({
        headers: [{ type: 'Exact' as const, name: h.name, value: h.value }],
      })),
      backendRefs: [{ ...canary, weight: 1 }],
    });
  }
  rules.push({
    backendRefs: [
      { ...stable, weight: 100 - canaryWeight },
      ...(routing.canary ? [{ ...canary, weight: canaryWeight }] : []),
    ],
  });
  const route = new HTTPRoute({
    metadata: {
      ...ref.metadata,
      labels: {
        'app.kubernetes.io/managed-by': 'control-plane',
        [`${PREFIX}/stable-version`]: labelValue(routing.stable),
        ...(routing.canary
          ? { [`${PREFIX}/canary-version`]: labelValue(routing.canary) }
          : {}),
      },
      annotations: {
        [ROUTE_ANNOTATIONS.routing]: JSON.stringify(routing),
        [ROUTE_ANNOTATIONS.idempotencyToken]: idempotencyToken,
      },
    },
    spec: {
      parentRefs: options.parentRefs.map(p => ({ ...p })),
      rules,
    },
  });
  route.validate();
  return route;
}

/** A version as a label value (at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends). */
function labelValue(version: string): string {
  const cleaned = version
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned;
}
