import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { IdpNotFoundError } from '@idp-multicloud/sdk';
import { z } from 'zod/v3';
import {
  canonicalRef,
  clientFor,
  ControlPlaneActionOptions,
  describeEvent,
  explain,
  fields,
  idempotencyKeyFor,
  parseInput,
  timeoutMs,
} from './shared';

const id = 'control-plane:resource:delete';

const inputSchema = (zImpl: typeof z) =>
  zImpl.object({
    ref: fields.ref(zImpl),
    cascade: zImpl
      .boolean()
      .optional()
      .describe(
        'also delete the resources that depend on it, dependents first (default false: refused while anything depends on it)',
      ),
    wait: zImpl
      .boolean()
      .optional()
      .describe('wait until every deleted resource is DELETED (default false)'),
    timeout: fields.timeout(zImpl),
  });

/**
 * `control-plane:resource:delete`: deletes a resource (and with `cascade` its dependents, in
 * reverse dependency order) as the template user; optionally waits until all are DELETED.
 * Deleting what is already gone succeeds, so a retried task does not fail on its own work.
 *
 * @public
 */
export function createResourceDeleteAction(options: ControlPlaneActionOptions) {
  return createTemplateAction({
    id,
    description:
      'Deletes a control plane resource (with cascade, its dependents first) as the template user; optionally waits until it is gone.',
    examples: [
      {
        description: 'Tear down a preview environment and everything on it',
        example: `steps:
  - id: teardown
    action: ${id}
    name: Delete the preview database
    input:
      ref: resource:previews/pr-42-db
      cascade: true
      wait: true
`,
      },
    ],
    schema: {
      input: inputSchema,
      output: {
        deleting: zImpl =>
          zImpl
            .array(zImpl.string())
            .describe('the refs deleted, dependents first'),
      },
    },
    async handler(ctx) {
      const input = parseInput(id, inputSchema, ctx.input);
      const ref = canonicalRef(input.ref);
      const client = await clientFor(options, ctx);
      const deleting = await ctx.checkpoint({
        key: `control-plane.resource.delete.${ref}`,
        fn: async () => {
          try {
            const answer = await client.resources.delete(ref, {
              cascade: input.cascade ?? false,
              idempotencyKey: idempotencyKeyFor(ctx, `delete:${ref}`),
            });
            return answer.deleting;
          } catch (error) {
            if (error instanceof IdpNotFoundError) {
              ctx.logger.info(`${ref} does not exist: nothing to delete`);
              return [];
            }
            throw explain(error, `delete ${ref}`);
          }
        },
      });
      ctx.output('deleting', deleting);
      if (deleting.length) {
        ctx.logger.info(`Deleting ${deleting.join(', ')}`);
      }
      if (!input.wait) return;
      const deadline = Date.now() + timeoutMs(input.timeout);
      for (const gone of deleting) {
        try {
          await client.resources.waitFor(gone, 'DELETED', {
            timeoutMs: Math.max(1, deadline - Date.now()),
            signal: ctx.signal,
            onEvent: event => ctx.logger.info(describeEvent(gone, event)),
          });
        } catch (error) {
          // Deleted and forgotten already: what we waited for.
          if (error instanceof IdpNotFoundError) continue;
          throw explain(error, `wait for ${gone} to be deleted`);
        }
        ctx.logger.info(`${gone} is DELETED`);
      }
    },
  });
}
