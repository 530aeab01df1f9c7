import { NotFoundError } from '@backstage/errors';
import {
  catalogReadPermission,
  cellListSchema,
  clusterManagePermission,
  fleetReadPermission,
  policyListSchema,
  productListSchema,
  productSchema,
  providerListSchema,
  quotaListSchema,
  reconcilerRunRequestSchema,
  reconcilerRunResponseSchema,
  tierListSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<
  ApiServices,
  'resourceService' | 'scheduler' | 'health' | 'reconciler'
>;

const route = routes<Deps>();

/** The objects of a kind in the desired state, for any caller who may read the catalog. */
function listed(spec: {
  kind: 'Tier' | 'Cell' | 'Quota' | 'Policy';
  path: string;
  operationId: string;
  summary: string;
  schema: z.ZodType;
}) {
  return route({
    method: 'get',
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    permission: catalogReadPermission,
    response: { status: 200, schema: spec.schema, description: spec.summary },
    run: async (_input, { resourceService }) => ({
      body: {
        items: (await resourceService.current())
          .ofKind(spec.kind)
          .map(m => ({ id: m.metadata.name, ...m.spec })),
      },
    }),
  });
}

export const fleetRoutes = [
  route({
    method: 'get',
    path: '/products',
    operationId: 'listProducts',
    summary: 'Products, their parameters, tiers and operations',
    permission: catalogReadPermission,
    response: {
      status: 200,
      schema: productListSchema,
      description: 'Products, their parameters, tiers and operations',
    },
    run: async (_input, { resourceService }) => ({
      body: {
        items: (await resourceService.current())
          .products()
          .map(p => ({ id: p.id, source: p.source, ...p.spec })),
      },
    }),
  }),

  route({
    method: 'get',
    path: '/products/{id}',
    operationId: 'getProduct',
    summary: 'A product: its parameters, tiers and operations',
    permission: catalogReadPermission,
    request: { params: z.object({ id: z.string() }) },
    response: {
      status: 200,
      schema: productSchema,
      description: 'The product',
    },
    run: async ({ params }, { resourceService }) => {
      const product = (await resourceService.current()).product(params.id);
      if (!product) throw new NotFoundError(`No product ${params.id}`);
      return {
        body: { id: product.id, source: product.source, ...product.spec },
      };
    },
  }),

  listed({
    kind: 'Tier',
    path: '/tiers',
    operationId: 'listTiers',
    summary: 'Tiers: placement gates, SLA, required features',
    schema: tierListSchema,
  }),
  listed({
    kind: 'Cell',
    path: '/cells',
    operationId: 'listCells',
    summary: 'Cells',
    schema: cellListSchema,
  }),
  listed({
    kind: 'Quota',
    path: '/quotas',
    operationId: 'listQuotas',
    summary: 'Quotas',
    schema: quotaListSchema,
  }),
  listed({
    kind: 'Policy',
    path: '/policies',
    operationId: 'listPolicies',
    summary: 'Policies of the state repository',
    schema: policyListSchema,
  }),

  route({
    method: 'get',
    path: '/providers',
    operationId: 'listProviders',
    summary: 'Providers, with their health and circuit breakers',
    permission: fleetReadPermission,
    response: {
      status: 200,
      schema: providerListSchema,
      description: 'Providers',
    },
    run: async (_input, { resourceService, health }) => {
      const state = await resourceService.current();
      const reports = new Map(
        (await health.report()).map(r => [r.provider, r]),
      );
      return {
        body: {
          items: state.ofKind('Provider').map(m => {
            const r = reports.get(m.metadata.name);
            return {
              id: m.metadata.name,
              ...m.spec,
              health: {
                score: r?.health ?? 1,
                breaker: r?.breaker ?? 'closed',
                calls: r?.calls ?? 0,
                failures: r?.failures ?? 0,
                errorRate: r && r.calls > 0 ? r.failures / r.calls : 0,
                latencyMs: r?.latencyMs ?? 0,
                latencyByCell: r?.latencyByCell ?? {},
                ...(r?.openedAt ? { openedAt: r.openedAt } : {}),
                ...(r?.reason ? { reason: r.reason } : {}),
              },
            };
          }),
        },
      };
    },
  }),

  route({
    method: 'post',
    path: '/reconciler/run',
    operationId: 'runReconciler',
    summary: 'Run a reconciler pass now (and, when asked, look for drift)',
    permission: clusterManagePermission,
    request: { body: reconcilerRunRequestSchema, bodyOptional: true },
    response: {
      status: 200,
      schema: reconcilerRunResponseSchema,
      description: 'What the pass did',
    },
    command: {
      action: 'reconciler.run',
      target: () => 'control-plane',
      idempotency: 'optional',
    },
    run: async ({ body }, { reconciler }) => {
      const pass = await reconciler.pass();
      const drift = body.drift ? await reconciler.detectDrift() : undefined;
      return {
        body: { ...pass, ...(drift ? { drift } : {}) },
        accepted: {
          reason: `started ${pass.started.length} operation${
            pass.started.length === 1 ? '' : 's'
          }${drift ? `; ${drift.drifted.length} drifted` : ''}`,
        },
      };
    },
  }),
];
