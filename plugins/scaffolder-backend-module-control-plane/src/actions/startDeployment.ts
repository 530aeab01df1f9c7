import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { resourceVersionKey } from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod/v3';
import {
  canonicalRef,
  clientFor,
  ControlPlaneActionOptions,
  explain,
  fields,
  idempotencyKeyFor,
  parseInput,
  timeoutMs,
} from './shared';

const id = 'control-plane:deployment:start';

const inputSchema = (zImpl: typeof z) =>
  zImpl.object({
    ref: fields.ref(zImpl),
    version: zImpl
      .string()
      .regex(
        /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
        'must be a version or image tag',
      )
      .describe(
        'the version to roll out (a webapp image tag, a database engine version)',
      ),
    wait: zImpl
      .boolean()
      .optional()
      .describe(
        'wait until the deployment ends, and fail the step unless it succeeded (default false)',
      ),
    timeout: fields.timeout(zImpl),
  });

const finished = new Set(['Succeeded', 'RolledBack', 'Aborted', 'Failed']);

/**
 * `control-plane:deployment:start`: rolls a resource out to a new version as the template
 * user — a change of its version, which the control plane deploys with the resource's rollout
 * (canary, blue/green or rolling, gated by analyses); optionally waits for the outcome.
 *
 * @public
 */
export function createDeploymentStartAction(
  options: ControlPlaneActionOptions,
) {
  return createTemplateAction({
    id,
    description:
      "Rolls a control plane resource out to a new version with its rollout strategy (canary, blue/green or rolling), as the template user; optionally waits for the deployment's outcome.",
    examples: [
      {
        description:
          'Release a new image of a web app, and wait for its canary',
        example: `steps:
  - id: release
    action: ${id}
    name: Roll out checkout 1.5.0
    input:
      ref: resource:default/checkout-web
      version: 1.5.0
      wait: true
      timeout: PT30M
`,
      },
    ],
    schema: {
      input: inputSchema,
      output: {
        deploymentId: zImpl =>
          zImpl
            .string()
            .optional()
            .describe('the deployment (once it started)'),
        phase: zImpl =>
          zImpl
            .string()
            .optional()
            .describe('Succeeded, RolledBack, Aborted or Failed (with wait)'),
        fromVersion: zImpl =>
          zImpl.string().describe('the version that ran before'),
      },
    },
    async handler(ctx) {
      const input = parseInput(id, inputSchema, ctx.input);
      const ref = canonicalRef(input.ref);
      const client = await clientFor(options, ctx);
      const { fromVersion, before } = await ctx.checkpoint({
        key: `control-plane.deployment.start.${ref}.${input.version}`,
        fn: async () => {
          try {
            const resource = await client.resources.get(ref);
            const key = resourceVersionKey(resource.spec.params);
            if (resource.spec.params[key] === undefined) {
              throw new InputError(
                `ref: ${ref} is a ${resource.spec.product}, which has no version to roll out`,
              );
            }
            const [last] = await client.deployments.list(ref);
            await client.resources.update(
              ref,
              { params: { [key]: input.version } },
              { idempotencyKey: idempotencyKeyFor(ctx, `deploy:${ref}`) },
            );
            return {
              fromVersion: resource.status.version ?? '',
              before: last?.id ?? '',
            };
          } catch (error) {
            throw explain(error, `roll ${ref} out to ${input.version}`);
          }
        },
      });
      ctx.output('fromVersion', fromVersion);
      if (fromVersion === input.version) {
        ctx.logger.info(
          `${ref} already runs ${input.version}: nothing to roll out`,
        );
        ctx.output('phase', 'Succeeded');
        return;
      }
      ctx.logger.info(`${ref}: ${fromVersion} → ${input.version} asked for`);
      if (!input.wait) return;
      const deadline = Date.now() + timeoutMs(input.timeout);
      const sleep = () => new Promise(r => setTimeout(r, 1000));
      let deploymentId: string | undefined;
      let seenStep = -1;
      for (;;) {
        if (ctx.signal?.aborted) throw new Error('the task was cancelled');
        if (Date.now() > deadline) {
          throw new Error(
            `the deployment of ${ref} to ${input.version} did not end within ${
              input.timeout ?? 'PT15M'
            }`,
          );
        }
        if (!deploymentId) {
          const [newest] = await client.deployments.list(ref);
          if (
            newest &&
            newest.id !== before &&
            newest.toVersion === input.version
          ) {
            deploymentId = newest.id;
            ctx.output('deploymentId', deploymentId);
          } else {
            await sleep();
            continue;
          }
        }
        const d = await client.deployments.get(deploymentId);
        if (d.currentStep !== seenStep) {
          seenStep = d.currentStep;
          ctx.logger.info(
            `${d.strategy} ${d.phase}: ${
              d.steps[d.currentStep]?.description ?? ''
            } (${d.weights.canary}% on ${input.version})`,
          );
        }
        if (finished.has(d.phase)) {
          ctx.output('phase', d.phase);
          if (d.phase !== 'Succeeded') {
            throw new Error(
              `the deployment of ${ref} to ${input.version} ${d.phase}: ${
                d.message ?? ''
              }`,
            );
          }
          ctx.logger.info(`${ref} runs ${input.version}`);
          return;
        }
        await sleep();
      }
    },
  });
}
