import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { resourceStates } from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod/v3';
import {
  canonicalRef,
  clientFor,
  ControlPlaneActionOptions,
  describeEvent,
  emit,
  explain,
  fields,
  parseInput,
  resourceOutputs,
  resourceOutputSchema,
  timeoutMs,
} from './shared';

const id = 'control-plane:resource:wait';

const inputSchema = (zImpl: typeof z) =>
  zImpl.object({
    ref: fields.ref(zImpl),
    state: zImpl
      .union([
        zImpl.enum(resourceStates),
        zImpl.array(zImpl.enum(resourceStates)).min(1),
      ])
      .optional()
      .describe(
        'the state, or any of the states, to wait for (default READY); the step fails when the resource ends FAILED or DELETED instead',
      ),
    timeout: fields.timeout(zImpl),
  });

/**
 * `control-plane:resource:wait`: waits until a resource reaches a state (READY by default),
 * following its event stream and logging each step of the control plane's work. Fails when
 * the resource ends FAILED or DELETED instead, or when the time runs out.
 *
 * @public
 */
export function createResourceWaitAction(options: ControlPlaneActionOptions) {
  return createTemplateAction({
    id,
    description:
      'Waits until a control plane resource is READY (or another state), logging its progress.',
    examples: [
      {
        description: 'Wait for the database an earlier step asked for',
        example: `steps:
  - id: wait-database
    action: ${id}
    name: Wait for the database
    input:
      ref: \${{ steps.database.output.ref }}
      timeout: PT20M
`,
      },
    ],
    supportsDryRun: true,
    schema: { input: inputSchema, output: resourceOutputSchema },
    async handler(ctx) {
      const input = parseInput(id, inputSchema, ctx.input);
      const ref = canonicalRef(input.ref);
      const client = await clientFor(options, ctx);
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Would wait for ${ref} to be ${input.state ?? 'READY'}`,
        );
        emit(ctx, { ref, state: 'READY' });
        return;
      }
      try {
        const resource = await client.resources.waitFor(
          ref,
          input.state ?? 'READY',
          {
            timeoutMs: timeoutMs(input.timeout),
            signal: ctx.signal,
            onEvent: event => ctx.logger.info(describeEvent(ref, event)),
          },
        );
        emit(ctx, resourceOutputs(resource));
        ctx.logger.info(`${ref} is ${resource.status.state}`);
      } catch (error) {
        throw explain(error, `wait for ${ref}`);
      }
    },
  });
}
