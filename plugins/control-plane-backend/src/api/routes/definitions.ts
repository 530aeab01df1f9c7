import { NotFoundError } from '@backstage/errors';
import {
  catalogReadPermission,
  definitionChangeListSchema,
  definitionChangeQuerySchema,
  definitionChangeSchema,
  productUsageSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { DefinitionChange } from '../../gitops/DefinitionChangeLog';
import { DesiredState } from '../../gitops/DesiredState';
import { summarize } from '../../gitops/migrationGuide';
import { productUsage } from '../../gitops/deprecations';
import { ResourceView } from '../../permissions/ResourceView';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<
  ApiServices,
  'definitionChanges' | 'resourceService' | 'authorizer'
>;

const route = routes<Deps>();

/**
 * A change as the caller may see it: affected resources it may not read left out (one since
 * deleted is decided on as it is in the desired state now: gone, only for who reads all).
 */
function inView(
  change: DefinitionChange,
  view: ResourceView,
  state: DesiredState,
) {
  const resources = change.affected.resources.filter(r => {
    if (view.all) return true;
    const m = state.resource(r.ref);
    return !!m && view.canRead({ ref: r.ref, spec: m.spec });
  });
  return { ...change, affected: summarize(resources) };
}

export const definitionRoutes = [
  route({
    method: 'get',
    path: '/definition-changes',
    operationId: 'listDefinitionChanges',
    summary:
      'Breaking changes of product definitions as they were applied, newest first, with their migration guides',
    permission: catalogReadPermission,
    request: { query: definitionChangeQuerySchema },
    response: {
      status: 200,
      schema: definitionChangeListSchema,
      description: 'The changes',
    },
    run: async (
      { query, ctx },
      { definitionChanges, authorizer, resourceService },
    ) => {
      const view = await authorizer.view(ctx.credentials);
      const state = await resourceService.current();
      const items = await definitionChanges.list(query);
      return { body: { items: items.map(c => inView(c, view, state)) } };
    },
  }),

  route({
    method: 'get',
    path: '/definition-changes/{id}',
    operationId: 'getDefinitionChange',
    summary:
      'A breaking change of a product definition: its findings, whom it affects, its migration guide',
    permission: catalogReadPermission,
    request: { params: z.object({ id: z.uuid() }) },
    response: {
      status: 200,
      schema: definitionChangeSchema,
      description: 'The change',
    },
    run: async (
      { params, ctx },
      { definitionChanges, authorizer, resourceService },
    ) => ({
      body: inView(
        await definitionChanges.get(params.id),
        await authorizer.view(ctx.credentials),
        await resourceService.current(),
      ),
    }),
  }),

  route({
    method: 'get',
    path: '/products/{id}/usage',
    operationId: 'getProductUsage',
    summary:
      'Who uses a product: its resources (those you may read), their versions, and its deprecations',
    description:
      'What a deprecation workflow needs: the product or its versions deprecated with their removal dates, and who still uses them.',
    permission: catalogReadPermission,
    request: { params: z.object({ id: z.string().max(63) }) },
    response: {
      status: 200,
      schema: productUsageSchema,
      description: 'The usage',
    },
    run: async ({ params, ctx }, { resourceService, authorizer }) => {
      const state = await resourceService.current();
      const usage = productUsage(state, params.id);
      if (!usage) throw new NotFoundError(`No product ${params.id}`);
      const view = await authorizer.view(ctx.credentials);
      const resources = usage.resources.filter(r => {
        const m = state.resource(r.ref);
        return !!m && view.canRead({ ref: r.ref, spec: m.spec });
      });
      return {
        body: {
          ...usage,
          resources,
          owners: [...new Set(resources.map(r => r.owner))].sort(),
          projects: [...new Set(resources.map(r => r.project))].sort(),
        },
      };
    },
  }),
];
