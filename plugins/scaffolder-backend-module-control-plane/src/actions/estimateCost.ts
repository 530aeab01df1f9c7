import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { z } from 'zod/v3';
import {
  clientFor,
  ControlPlaneActionOptions,
  explain,
  fields,
  parseInput,
} from './shared';

const id = 'control-plane:cost:estimate';

const inputSchema = (zImpl: typeof z) =>
  zImpl.object({
    product: zImpl.string().min(1).describe('the product, e.g. mysql'),
    tier: fields.tier(zImpl).optional().describe('the tier (default medium)'),
    cell: fields
      .name(zImpl)
      .optional()
      .describe('the cell (default: the providers of every cell)'),
    params: zImpl
      .record(zImpl.unknown())
      .optional()
      .describe("the product's parameters, as a create would give them"),
    maxMonthlyCost: zImpl
      .number()
      .positive()
      .optional()
      .describe(
        'fail the step when even the cheapest provider costs more than this per month (USD)',
      ),
  });

/**
 * `control-plane:cost:estimate`: the monthly list price of a resource on each provider that
 * can run it, cheapest first, before anything is created. Read-only, so it runs in dry runs.
 *
 * @public
 */
export function createCostEstimateAction(options: ControlPlaneActionOptions) {
  return createTemplateAction({
    id,
    description:
      'Estimates the monthly cost of a resource on each provider of a cell, before it is created; can fail the task above a limit.',
    examples: [
      {
        description: 'Show the price of a large MySQL before asking for it',
        example: `steps:
  - id: price
    action: ${id}
    name: Estimate the cost
    input:
      product: mysql
      tier: high
      cell: cell-us
      params:
        size: large
        storageGi: 100
      maxMonthlyCost: 2000
`,
      },
    ],
    supportsDryRun: true,
    schema: {
      input: inputSchema,
      output: {
        currency: zImpl => zImpl.literal('USD'),
        monthlyCost: zImpl =>
          zImpl
            .number()
            .optional()
            .describe(
              'the cheapest monthly cost; unset when no provider can run it',
            ),
        provider: zImpl =>
          zImpl.string().optional().describe('the cheapest provider'),
        estimates: zImpl =>
          zImpl
            .array(
              zImpl.object({
                provider: zImpl.string(),
                monthlyCost: zImpl.number(),
              }),
            )
            .describe('every provider that can run it, cheapest first'),
      },
    },
    async handler(ctx) {
      const { maxMonthlyCost, ...request } = parseInput(
        id,
        inputSchema,
        ctx.input,
      );
      const client = await clientFor(options, ctx);
      let estimate;
      try {
        estimate = await client.cost.estimate(request);
      } catch (error) {
        throw explain(error, `estimate the cost of a ${request.product}`);
      }
      ctx.output('currency', estimate.currency);
      ctx.output('estimates', estimate.estimates);
      const cheapest = estimate.cheapest;
      if (!cheapest) {
        throw new Error(
          `No provider${
            estimate.cell ? ` in ${estimate.cell}` : ''
          } can run a ${estimate.product} of tier ${estimate.tier}`,
        );
      }
      ctx.output('monthlyCost', cheapest.monthlyCost);
      ctx.output('provider', cheapest.provider);
      ctx.logger.info(
        `A ${estimate.product} (${
          estimate.tier
        }) costs from ${cheapest.monthlyCost.toFixed(2)} USD a month on ${
          cheapest.provider
        }`,
      );
      if (
        maxMonthlyCost !== undefined &&
        cheapest.monthlyCost > maxMonthlyCost
      ) {
        throw new Error(
          `A ${estimate.product} costs at least ${cheapest.monthlyCost.toFixed(
            2,
          )} USD a month (on ${
            cheapest.provider
          }), over the limit of ${maxMonthlyCost.toFixed(
            2,
          )} USD this template sets`,
        );
      }
    },
  });
}
