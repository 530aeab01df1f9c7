import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  generateFormats,
  terraformProviders,
} from '@idp-multicloud/plugin-control-plane-common';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod/v3';
import {
  clientFor,
  ControlPlaneActionOptions,
  explain,
  parseInput,
} from './shared';

const id = 'control-plane:generate';

const inputSchema = (zImpl: typeof z) =>
  zImpl
    .object({
      format: zImpl
        .enum(generateFormats)
        .describe('compose, kubernetes, terraform or kcl'),
      component: zImpl
        .string()
        .optional()
        .describe(
          'the component whose resources to write, e.g. component:default/checkout',
        ),
      project: zImpl
        .string()
        .optional()
        .describe(
          'instead of a component: a project (a catalog System, with the namespace of that name)',
        ),
      provider: zImpl
        .enum(terraformProviders)
        .optional()
        .describe('terraform: write every resource for this provider'),
      targetPath: zImpl
        .string()
        .optional()
        .describe(
          'where in the workspace to write the files (default: its root)',
        ),
    })
    .refine(i => !i.component !== !i.project, {
      message: 'give exactly one of component and project',
      path: ['component'],
    });

/**
 * `control-plane:generate`: writes a component's or a project's infrastructure into the
 * task's workspace (Docker Compose for local development, Kubernetes manifests, Terraform or
 * KCL), so that a later step (`publish:*`) commits the files into the new repository. It
 * reads the desired state, so the resources a template asked for in earlier steps are in
 * it even before they are READY. Read-only on the control plane, so it runs in dry runs.
 *
 * @public
 */
export function createGenerateAction(options: ControlPlaneActionOptions) {
  return createTemplateAction({
    id,
    description:
      "Writes a component's or a project's resources as files into the workspace: Docker Compose for local development, Kubernetes manifests, Terraform or KCL.",
    examples: [
      {
        description:
          'Give a new service a docker-compose.yaml for local development',
        example: `steps:
  - id: compose
    action: ${id}
    name: Write docker-compose.yaml
    input:
      format: compose
      component: component:default/orders
`,
      },
      {
        description: "Write a project's Terraform for Google Cloud",
        example: `steps:
  - id: terraform
    action: ${id}
    name: Write the Terraform
    input:
      format: terraform
      project: payments
      provider: gcp
      targetPath: infra
`,
      },
    ],
    supportsDryRun: true,
    schema: {
      input: inputSchema,
      output: {
        files: zImpl =>
          zImpl
            .array(zImpl.string())
            .describe('the files written, relative to the workspace'),
        resources: zImpl =>
          zImpl
            .array(zImpl.string())
            .describe('the resources they describe (refs)'),
      },
    },
    async handler(ctx) {
      const input = parseInput(id, inputSchema, ctx.input);
      const client = await clientFor(options, ctx);
      let result;
      try {
        result = await client.generate(input.format, {
          component: input.component,
          project: input.project,
          provider: input.provider,
        });
      } catch (error) {
        throw explain(
          error,
          `generate ${input.format} for ${input.component ?? input.project}`,
        );
      }
      const base = input.targetPath ?? '.';
      const written: string[] = [];
      for (const file of result.files) {
        const relative = `${base}/${file.path}`;
        let target: string;
        try {
          target = resolveSafeChildPath(ctx.workspacePath, relative);
        } catch {
          throw new InputError(
            `${relative} would be written outside the workspace`,
          );
        }
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, file.content);
        written.push(relative.replace(/^\.\//, ''));
      }
      for (const note of result.notes) ctx.logger.warn(note);
      ctx.logger.info(
        `Wrote ${written.join(', ')} for ${result.resources.join(', ')}`,
      );
      ctx.output('files', written);
      ctx.output('resources', result.resources);
    },
  });
}
