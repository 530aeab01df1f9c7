import { InputError } from '@backstage/errors';
import {
  catalogReadPermission,
  chargebackQuerySchema,
  chargebackSchema,
  costEstimateRequestSchema,
  costEstimateSchema,
  costReadPermission,
  createExperimentRequestSchema,
  experimentListSchema,
  experimentManagePermission,
  experimentSchema,
  featureFlagListSchema,
  featureFlagSchema,
  featureFlagScopeSchema,
  fleetReadPermission,
  nameSchema,
  normalizeEntityRef,
  quotaUsageListSchema,
  setFeatureFlagRequestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { scopeKey } from '../../governance/FeatureFlags';
import { rawTarget, routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<
  ApiServices,
  'resourceService' | 'cost' | 'experiments' | 'flags' | 'authorizer'
>;

const route = routes<Deps>();
const experimentPath = z.object({ name: nameSchema });
const flagPath = z.object({ name: z.string() });

/** Refuses (400, naming the field) a scope naming a cell the desired state does not have. */
async function requireCells(
  { resourceService }: Pick<Deps, 'resourceService'>,
  cells: { path: string; cell: string }[],
): Promise<void> {
  if (cells.length === 0) return;
  const desired = await resourceService.current();
  const unknown = cells.filter(c => !desired.cell(c.cell));
  if (unknown.length > 0) {
    throw new InputError(
      unknown.map(c => `${c.path}: no cell ${c.cell}`).join('; '),
    );
  }
}

const costRoutes = [
  route({
    method: 'get',
    path: '/quotas/usage',
    operationId: 'listQuotaUsage',
    summary: 'Quotas with what their scope uses now',
    permission: catalogReadPermission,
    permissionNote:
      "A team quota's usage is listed to those who may read that team's costs (`control-plane.cost.read`).",
    response: {
      status: 200,
      schema: quotaUsageListSchema,
      description: 'Quotas with what their scope uses now',
    },
    run: async ({ ctx }, { authorizer, cost, resourceService }) => {
      const costs = await authorizer.predicate(
        ctx.credentials,
        costReadPermission,
      );
      const state = await resourceService.current();
      // A team quota's usage is that team's cost: shown to those who may see its resources'
      // costs. Cell and namespace quotas are shared limits every requester runs into.
      const items = (await cost.quotaUsage(state)).filter(
        q =>
          costs.all ||
          q.scope.kind !== 'team' ||
          costs.allows({
            ref: `team:${q.scope.name}`,
            owner: normalizeEntityRef(q.scope.name),
            cell: '',
            tier: '',
          }),
      );
      return { body: { items } };
    },
  }),

  route({
    method: 'post',
    path: '/cost/estimate',
    operationId: 'estimateCost',
    summary: 'The monthly list price of a resource on each provider of a cell',
    permission: catalogReadPermission,
    request: { body: costEstimateRequestSchema },
    response: {
      status: 200,
      schema: costEstimateSchema,
      description: 'The estimate, cheapest first',
    },
    run: async ({ body }, { cost, resourceService }) => ({
      body: cost.estimate(await resourceService.current(), body),
    }),
  }),

  route({
    method: 'get',
    path: '/cost/chargeback',
    operationId: 'getChargeback',
    summary:
      'Cost accrued over a window while resources were READY or DEGRADED, grouped',
    permission: costReadPermission,
    permissionNote:
      'Everyone may ask; each caller sees the resources whose cost it may read.',
    request: { query: chargebackQuerySchema },
    response: {
      status: 200,
      schema: chargebackSchema,
      description: 'The report',
    },
    run: async ({ query, ctx }, { authorizer, cost, resourceService }) => {
      // Everyone's costs to those allowed all; the rest see their resources' share only.
      const restrict = await authorizer.listRestriction(
        ctx.credentials,
        costReadPermission,
      );
      return {
        body: await cost.chargeback(
          await resourceService.current(),
          query,
          restrict,
        ),
      };
    },
  }),
];

const experimentRoutes = [
  route({
    method: 'get',
    path: '/experiments',
    operationId: 'listExperiments',
    summary:
      'Placement experiments, newest first, with the outcomes of their arms',
    permission: fleetReadPermission,
    response: {
      status: 200,
      schema: experimentListSchema,
      description: 'The experiments',
    },
    run: async (_input, { experiments }) => ({
      body: { items: await experiments.list() },
    }),
  }),

  route({
    method: 'get',
    path: '/experiments/{name}',
    operationId: 'getExperiment',
    summary:
      'An experiment with its outcomes per arm: placements, READY, failures, time to READY, cost',
    permission: fleetReadPermission,
    request: { params: experimentPath },
    response: {
      status: 200,
      schema: experimentSchema,
      description: 'The experiment',
    },
    run: async ({ params }, { experiments }) => ({
      body: await experiments.get(params.name),
    }),
  }),

  route({
    method: 'post',
    path: '/experiments',
    operationId: 'createExperiment',
    summary:
      'Start an experiment: shares of the placements in scope scored with other weights',
    permission: experimentManagePermission,
    request: { body: createExperimentRequestSchema },
    response: {
      status: 201,
      schema: experimentSchema,
      description: 'The experiment',
    },
    command: {
      action: 'experiment.create',
      target: ({ body }) => rawTarget('experiment', String(body?.name ?? '')),
      idempotency: 'optional',
    },
    check: async ({ body }, deps) =>
      requireCells(
        deps,
        (body.scope?.cells ?? []).map((cell, i) => ({
          path: `scope.cells.${i}`,
          cell,
        })),
      ),
    run: async ({ body, ctx }, { experiments }) => {
      const experiment = await experiments.create(body, ctx.actor);
      return {
        body: experiment,
        accepted: {
          target: `experiment:${experiment.name}`,
          reason: `arms ${experiment.arms
            .map(a => `${a.name} ${a.percent}% ${JSON.stringify(a.weights)}`)
            .join(', ')}; scope ${JSON.stringify(experiment.scope)}`,
        },
      };
    },
  }),

  route({
    method: 'post',
    path: '/experiments/{name}/stop',
    operationId: 'stopExperiment',
    summary: "Stop an experiment: later placements keep their tier's weights",
    permission: experimentManagePermission,
    request: { params: experimentPath },
    response: {
      status: 200,
      schema: experimentSchema,
      description: 'The stopped experiment',
    },
    command: {
      action: 'experiment.stop',
      target: ({ params }) => rawTarget('experiment', params.name),
      idempotency: 'optional',
    },
    run: async ({ params }, { experiments }) => {
      const experiment = await experiments.stop(params.name);
      return {
        body: experiment,
        accepted: {
          target: `experiment:${params.name}`,
          reason: `stopped after ${experiment.outcomes
            .map(o => `${o.arm}: ${o.placements} placements`)
            .join(', ')}`,
        },
      };
    },
  }),
];

const flagRoutes = [
  route({
    method: 'get',
    path: '/flags',
    operationId: 'listFeatureFlags',
    summary: 'Feature flags of platform behaviour, with their value per scope',
    permission: fleetReadPermission,
    response: {
      status: 200,
      schema: featureFlagListSchema,
      description: 'The flags',
    },
    run: async (_input, { flags }) => ({ body: { items: await flags.list() } }),
  }),

  route({
    method: 'get',
    path: '/flags/{name}',
    operationId: 'getFeatureFlag',
    summary: 'A feature flag with its value per scope',
    permission: fleetReadPermission,
    request: { params: flagPath },
    response: {
      status: 200,
      schema: featureFlagSchema,
      description: 'The flag',
    },
    run: async ({ params }, { flags }) => ({
      body: await flags.get(params.name),
    }),
  }),

  route({
    method: 'put',
    path: '/flags/{name}',
    operationId: 'setFeatureFlag',
    summary:
      'Set a flag in a scope (everywhere, a cell, a tier, or both); takes effect without a restart',
    permission: experimentManagePermission,
    request: { params: flagPath, body: setFeatureFlagRequestSchema },
    response: {
      status: 200,
      schema: featureFlagSchema,
      description: 'The flag',
    },
    command: {
      action: 'flag.set',
      target: ({ params }) => rawTarget('flag', params.name),
      idempotency: 'optional',
    },
    check: async ({ params, body }, deps) => {
      const request = deps.flags.parseSet(params.name, body);
      await requireCells(
        deps,
        request.scope.cell
          ? [{ path: 'scope.cell', cell: request.scope.cell }]
          : [],
      );
      return request;
    },
    run: async ({ ctx }, { flags }, request) => {
      const flag = await flags.set(request, ctx.actor);
      return {
        body: flag,
        accepted: {
          target: `flag:${request.name}`,
          reason: `${JSON.stringify(request.value)} in ${scopeKey(
            request.scope,
          )}`,
        },
      };
    },
  }),

  route({
    method: 'delete',
    path: '/flags/{name}',
    operationId: 'unsetFeatureFlag',
    summary:
      "Remove a flag's value in a scope: the next more general one applies",
    permission: experimentManagePermission,
    request: { params: flagPath, query: featureFlagScopeSchema },
    response: {
      status: 200,
      schema: featureFlagSchema,
      description: 'The flag',
    },
    command: {
      action: 'flag.unset',
      target: ({ params }) => rawTarget('flag', params.name),
      idempotency: 'optional',
    },
    check: async ({ params, query }, { flags }) =>
      flags.parseUnset(params.name, query),
    run: async (_input, { flags }, request) => {
      const { flag, removed } = await flags.unset(request);
      return {
        body: flag,
        accepted: {
          target: `flag:${request.name}`,
          reason: `${scopeKey(request.scope)}: ${
            removed ? 'value removed' : 'had no value'
          }`,
        },
      };
    },
  }),
];

export const governanceRoutes = [
  ...costRoutes,
  ...experimentRoutes,
  ...flagRoutes,
];
