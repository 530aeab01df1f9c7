import { InputError } from '@backstage/errors';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { readFile } from 'node:fs/promises';
import { z } from 'zod/v3';
import {
  clientFor,
  ControlPlaneActionOptions,
  explain,
  idempotencyKeyFor,
  parseInput,
} from './shared';

const id = 'control-plane:manifest:apply';

const inputSchema = (zImpl: typeof z) =>
  zImpl
    .object({
      manifests: zImpl
        .string()
        .min(1)
        .optional()
        .describe('the manifests: one or more YAML documents'),
      path: zImpl
        .string()
        .min(1)
        .optional()
        .describe(
          'a file in the task workspace holding the manifests (e.g. one written by fetch:template)',
        ),
      prune: zImpl
        .boolean()
        .optional()
        .describe(
          'also delete the resources of the namespaces in the manifests that they leave out (default false)',
        ),
    })
    .refine(i => (i.manifests === undefined) !== (i.path === undefined), {
      message: 'give either manifests or path, not both',
      path: ['manifests'],
    });

/**
 * `control-plane:manifest:apply`: the declarative path from a template. Applies manifests
 * (`apiVersion: idp.multicloud/v1`) as one commit to the state repository, authorized and
 * audited as the template user. A dry run returns the plan and writes nothing.
 *
 * @public
 */
export function createManifestApplyAction(options: ControlPlaneActionOptions) {
  return createTemplateAction({
    id,
    description:
      'Applies control plane manifests (resources, quotas, ...) as one commit, as the template user; in a dry run, only plans.',
    examples: [
      {
        description: 'Apply the manifests a skeleton wrote into the workspace',
        example: `steps:
  - id: fetch
    action: fetch:template
    input:
      url: ./infrastructure
      targetPath: infrastructure
      values:
        name: \${{ parameters.name }}
  - id: apply
    action: ${id}
    name: Ask for the infrastructure
    input:
      path: infrastructure/resources.yaml
`,
      },
    ],
    supportsDryRun: true,
    schema: {
      input: inputSchema,
      output: {
        commit: zImpl =>
          zImpl
            .string()
            .optional()
            .describe('the commit that applied them, when anything changed'),
        summary: zImpl =>
          zImpl
            .object({
              create: zImpl.number(),
              update: zImpl.number(),
              delete: zImpl.number(),
              unchanged: zImpl.number(),
            })
            .describe('how many objects each action applies to'),
        changes: zImpl =>
          zImpl
            .array(
              zImpl.object({
                kind: zImpl.string(),
                ref: zImpl.string(),
                action: zImpl.enum(['create', 'update', 'delete', 'unchanged']),
              }),
            )
            .describe('each object and what happens to it'),
      },
    },
    async handler(ctx) {
      const input = parseInput(id, inputSchema, ctx.input);
      let yaml = input.manifests;
      if (input.path !== undefined) {
        const file = resolveSafeChildPath(ctx.workspacePath, input.path);
        yaml = await readFile(file, 'utf8').catch(error => {
          throw new InputError(
            `path: cannot read ${input.path} in the workspace: ${error.message}`,
          );
        });
      }
      const client = await clientFor(options, ctx);
      const prune = input.prune ?? false;
      const plan = await ctx.checkpoint({
        key: `control-plane.manifest.apply.${ctx.isDryRun ? 'plan' : 'apply'}`,
        fn: async () => {
          try {
            const { commit, summary, changes } = ctx.isDryRun
              ? await client.manifests.plan(yaml!, { prune })
              : await client.manifests.apply(yaml!, {
                  prune,
                  idempotencyKey: idempotencyKeyFor(ctx, 'apply'),
                });
            return {
              ...(commit ? { commit } : {}),
              summary,
              changes: changes.map(({ kind, ref, action }) => ({
                kind,
                ref,
                action,
              })),
            };
          } catch (error) {
            throw explain(error, 'apply the manifests');
          }
        },
      });
      for (const change of plan.changes) {
        ctx.logger.info(
          `${ctx.isDryRun ? 'would ' : ''}${change.action} ${change.kind} ${
            change.ref
          }`,
        );
      }
      if (plan.commit) ctx.output('commit', plan.commit);
      ctx.output('summary', plan.summary);
      ctx.output('changes', plan.changes);
    },
  });
}
