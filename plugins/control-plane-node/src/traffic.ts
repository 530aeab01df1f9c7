import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { z } from 'zod';

/**
 * The resource whose traffic a router splits.
 * @public
 */
export interface TrafficTarget {
  /** `resource:<namespace>/<name>` */
  ref: string;
  namespace: string;
  name: string;
  /** The cells the resource serves from; per-cell weights may name only these. */
  cells: string[];
  /**
   * The cluster a router acts on, when it acts on one (the Gateway API router does); the
   * router's own default when left out.
   */
  cluster?: string;
}

/**
 * A header that sends a request to the canary whatever the weights, e.g.
 * `{ name: 'x-canary', value: 'true' }`. Header names compare case-insensitively, values exactly.
 * @public
 */
export interface TrafficHeaderMatch {
  name: string;
  value: string;
}

/**
 * The canary's share of one cell's traffic, overriding {@link TrafficRouting.canaryWeight} there.
 * @public
 */
export interface TrafficCellWeight {
  cell: string;
  /** Percent, 0..100. */
  canaryWeight: number;
}

/**
 * How a resource's requests are split between its stable version and a canary.
 * @public
 */
export interface TrafficRouting {
  /** The version that takes what the canary does not. */
  stable: string;
  /** The new version; absent when only the stable one serves. */
  canary?: string;
  /** The canary's share of requests, in percent (0..100, integer). */
  canaryWeight: number;
  /** Requests carrying any of these headers go to the canary. */
  headerMatches?: TrafficHeaderMatch[];
  /** Per-cell weights (geo): a cell listed here uses its own weight. */
  cells?: TrafficCellWeight[];
}

/**
 * Who asks a router to change a routing: the idempotency token of the saga step (as for
 * drivers) and an abort signal.
 * @public
 */
export interface TrafficCallContext {
  idempotencyToken: string;
  signal?: AbortSignal;
}

/**
 * Splits the traffic of resources between versions. A backend module implements it (the
 * simulator, Kubernetes Gateway API) and adds it through
 * {@link controlPlaneTrafficRoutersExtensionPoint}. `setRouting` is idempotent: setting what
 * is already set changes nothing.
 * @public
 */
export interface TrafficRouter {
  /** e.g. `simulator`, `gateway-api`. */
  readonly id: string;
  /**
   * Routes the resource's traffic as `routing` says; resolves with the routing in force once
   * the router has taken it. Throws `InputError` for an invalid routing (see
   * {@link parseTrafficRouting}).
   */
  setRouting(
    target: TrafficTarget,
    routing: TrafficRouting,
    ctx: TrafficCallContext,
  ): Promise<TrafficRouting>;
  /** The routing in force, or undefined when the router routes nothing for the resource. */
  getRouting(
    target: TrafficTarget,
    options?: { signal?: AbortSignal },
  ): Promise<TrafficRouting | undefined>;
}

/**
 * Lets backend modules add traffic routers.
 * @public
 */
export interface ControlPlaneTrafficRoutersExtensionPoint {
  addTrafficRouter(...routers: TrafficRouter[]): void;
}

/**
 * The extension point for traffic routers.
 * @public
 */
export const controlPlaneTrafficRoutersExtensionPoint =
  createExtensionPoint<ControlPlaneTrafficRoutersExtensionPoint>({
    id: 'control-plane.traffic-routers',
  });

const weightSchema = z.number().int().min(0).max(100);
const versionSchema = z.string().min(1).max(253);
// An HTTP header name (a token, RFC 9110), as Gateway API accepts it.
const headerNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,256}$/, 'not an HTTP header name');

const routingSchema = z
  .object({
    stable: versionSchema,
    canary: versionSchema.optional(),
    canaryWeight: weightSchema,
    headerMatches: z
      .array(
        z
          .object({ name: headerNameSchema, value: z.string().max(4096) })
          .strict(),
      )
      .max(16)
      .optional(),
    cells: z
      .array(
        z
          .object({ cell: z.string().min(1), canaryWeight: weightSchema })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const sendsToCanary =
      r.canaryWeight > 0 ||
      (r.headerMatches?.length ?? 0) > 0 ||
      (r.cells ?? []).some(c => c.canaryWeight > 0);
    if (sendsToCanary && r.canary === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['canary'],
        message: 'name the canary version that the weights or headers send to',
      });
    }
    if (r.canary !== undefined && r.canary === r.stable) {
      ctx.addIssue({
        code: 'custom',
        path: ['canary'],
        message: `the canary must differ from the stable version (both ${r.stable})`,
      });
    }
    const seen = new Set<string>();
    for (const [i, c] of (r.cells ?? []).entries()) {
      if (seen.has(c.cell)) {
        ctx.addIssue({
          code: 'custom',
          path: ['cells', i, 'cell'],
          message: `cell ${c.cell} is listed twice`,
        });
      }
      seen.add(c.cell);
    }
  });

/**
 * Validates a routing for a target: weights integers in 0..100, a canary named whenever
 * anything goes to it and different from the stable version, header names that are HTTP
 * tokens, each cell listed once and one of the target's. Returns it normalised (header names
 * lower-case, no empty lists); throws `InputError` naming every fault.
 * @public
 */
export function parseTrafficRouting(
  value: unknown,
  target?: Pick<TrafficTarget, 'cells'>,
): TrafficRouting {
  const parsed = routingSchema.safeParse(value);
  if (!parsed.success) {
    throw new InputError(
      parsed.error.issues
        .map(i => `${i.path.join('.') || '(routing)'}: ${i.message}`)
        .join('; '),
    );
  }
  const r = parsed.data;
  if (target) {
    const unknown = (r.cells ?? []).filter(c => !target.cells.includes(c.cell));
    if (unknown.length > 0) {
      throw new InputError(
        `cells: ${unknown
          .map(c => c.cell)
          .join(', ')} not among the resource's cells (${
          target.cells.join(', ') || 'none'
        })`,
      );
    }
  }
  const routing: TrafficRouting = {
    stable: r.stable,
    canaryWeight: r.canaryWeight,
  };
  if (r.canary !== undefined) routing.canary = r.canary;
  if (r.headerMatches?.length) {
    routing.headerMatches = r.headerMatches.map(h => ({
      name: h.name.toLowerCase(),
      value: h.value,
    }));
  }
  if (r.cells?.length) routing.cells = r.cells.map(c => ({ ...c }));
  return routing;
}

/**
 * The canary's weight in a cell: the cell's own when listed, else the routing's.
 * @public
 */
export function canaryWeightIn(
  routing: TrafficRouting,
  cell: string | undefined,
): number {
  const own =
    cell === undefined
      ? undefined
      : routing.cells?.find(c => c.cell === cell)?.canaryWeight;
  return own ?? routing.canaryWeight;
}

/**
 * The version one request reaches: the canary when a header matches, else by weight in the
 * request's cell. `draw` is uniform in [0, 1) (a seeded generator makes it reproducible).
 * @public
 */
export function routeRequest(
  routing: TrafficRouting,
  request: { headers?: Record<string, string | undefined>; cell?: string },
  draw: number,
): string {
  if (routing.canary === undefined) return routing.stable;
  const headers = new Map(
    Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  if (routing.headerMatches?.some(h => headers.get(h.name) === h.value)) {
    return routing.canary;
  }
  return draw * 100 < canaryWeightIn(routing, request.cell)
    ? routing.canary
    : routing.stable;
}
