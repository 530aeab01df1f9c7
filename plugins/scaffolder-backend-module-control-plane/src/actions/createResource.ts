import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  DEFAULT_NAMESPACE,
  normalizeEntityRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { IdpClient, IdpConflictError, Resource } from '@idp-multicloud/sdk';
import { z } from 'zod/v3';
import { examples } from './createResource.examples';
import {
  canonicalRef,
  clientFor,
  ControlPlaneActionOptions,
  describeEvent,
  emit,
  explain,
  fields,
  idempotencyKeyFor,
  parseInput,
  resourceOutputs,
  resourceOutputSchema,
  timeoutMs,
} from './shared';

const id = 'control-plane:resource:create';

const entityRef = (kinds: string) =>
  new RegExp(
    `^(${kinds}):([a-z0-9][-a-z0-9_.]{0,62}/)?[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$`,
  );

const inputSchema = (zImpl: typeof z) =>
  zImpl.object({
    product: zImpl
      .string()
      .min(1)
      .describe('the product to create, e.g. mysql, redis, postgres, webapp'),
    name: fields
      .name(zImpl)
      .describe(
        'the resource name: lowercase letters, digits and dashes, at most 63 characters',
      ),
    namespace: fields
      .name(zImpl)
      .optional()
      .describe('the namespace of the resource (default: default)'),
    owner: zImpl
      .string()
      .regex(
        entityRef('group|user'),
        'must be a group or user entity ref, e.g. group:default/payments',
      )
      .describe('the team accountable for it: a group or user entity ref'),
    component: zImpl
      .string()
      .regex(
        entityRef('component|system'),
        'must be a component or system entity ref, e.g. component:default/checkout',
      )
      .optional()
      .describe('the catalog component or system it serves'),
    tier: fields
      .tier(zImpl)
      .describe(
        'criticality: critical, high, medium or low; decides placement gates and SLA',
      ),
    cell: fields.name(zImpl).describe('the cell to run in, e.g. cell-us'),
    params: zImpl
      .record(zImpl.unknown())
      .optional()
      .describe(
        "the product's parameters, e.g. { size: large, storageGi: 50 } for mysql; checked by the control plane",
      ),
    dependsOn: zImpl
      .array(fields.ref(zImpl))
      .optional()
      .describe('resources that must be READY before this one is provisioned'),
    labels: zImpl
      .record(zImpl.string())
      .optional()
      .describe('labels for selecting and grouping'),
    wait: zImpl
      .boolean()
      .optional()
      .describe(
        'wait until the resource is READY (the step fails if it ends FAILED); default false',
      ),
    timeout: fields.timeout(zImpl),
  });

type Input = z.output<ReturnType<typeof inputSchema>>;

/** What differs between an existing resource and the one asked for. */
function differences(existing: Resource, wanted: Input): string[] {
  const norm = (ref?: string | null) => (ref ? normalizeEntityRef(ref) : ref);
  const pairs: [string, unknown, unknown][] = [
    ['product', existing.spec.product, wanted.product],
    ['owner', norm(existing.spec.owner), norm(wanted.owner)],
    ['component', norm(existing.spec.component), norm(wanted.component)],
    ['tier', existing.spec.tier, wanted.tier],
    ['cell', existing.spec.cell, wanted.cell],
  ];
  return pairs
    .filter(([, have, want]) => want !== undefined && have !== want)
    .map(
      ([field, have, want]) => `${field} is ${have ?? 'unset'}, not ${want}`,
    );
}

/** Asks for the resource; an identical one that exists already is reused. */
async function createOrReuse(
  client: IdpClient,
  input: Input,
  ref: string,
  idempotencyKey: string,
): Promise<boolean> {
  const { wait: _wait, timeout: _timeout, ...request } = input;
  try {
    await client.resources.create(request, { idempotencyKey });
    return true;
  } catch (error) {
    if (!(error instanceof IdpConflictError)) {
      throw explain(error, `create ${ref}`);
    }
    const existing = await client.resources.get(ref).catch(() => undefined);
    if (!existing) throw explain(error, `create ${ref}`);
    const diff = differences(existing, input);
    if (diff.length) {
      throw new InputError(
        `Could not create ${ref}: a different resource of that name exists (${diff.join(
          '; ',
        )}); pick another name`,
      );
    }
    return false;
  }
}

/**
 * `control-plane:resource:create`: asks the control plane for a resource, as the user who runs
 * the template, and optionally waits until it is READY.
 *
 * A retried or recovered task never creates twice: the call runs in a checkpoint and carries
 * an Idempotency-Key made of the task and step ids, so even a call whose checkpoint was lost
 * is answered with the first result. A resource of that name which already exists with the
 * same product, owner, component, tier and cell (the template run again with the same inputs)
 * is reused, and `created` is false.
 *
 * @public
 */
export function createResourceCreateAction(options: ControlPlaneActionOptions) {
  return createTemplateAction({
    id,
    description:
      'Creates a resource of a product (MySQL, Redis, ...) in the control plane as the template user; optionally waits until it is READY.',
    examples,
    schema: {
      input: inputSchema,
      output: {
        ...resourceOutputSchema,
        created: zImpl =>
          zImpl
            .boolean()
            .describe(
              'false when an identical resource already existed and was reused',
            ),
      },
    },
    async handler(ctx) {
      const input = parseInput(id, inputSchema, ctx.input);
      const namespace = input.namespace ?? DEFAULT_NAMESPACE;
      const ref = canonicalRef(`${namespace}/${input.name}`);
      const client = await clientFor(options, ctx);

      const created = await ctx.checkpoint({
        key: `control-plane.resource.create.${ref}`,
        fn: () =>
          createOrReuse(
            client,
            { ...input, namespace },
            ref,
            idempotencyKeyFor(ctx, `create:${ref}`),
          ),
      });
      ctx.logger.info(
        created
          ? `Requested ${ref} (${input.product})`
          : `${ref} already exists with the same product, owner, tier and cell: reusing it`,
      );

      let resource: Resource;
      try {
        resource = input.wait
          ? await client.resources.waitFor(ref, 'READY', {
              timeoutMs: timeoutMs(input.timeout),
              signal: ctx.signal,
              onEvent: event => ctx.logger.info(describeEvent(ref, event)),
            })
          : await client.resources.get(ref);
      } catch (error) {
        throw explain(error, `get ${ref} READY`);
      }
      emit(ctx, { ...resourceOutputs(resource), created });
      const placement = resource.status.placement;
      ctx.logger.info(
        `${ref} is ${resource.status.state}${
          placement ? ` on ${placement.provider}/${placement.cluster}` : ''
        }`,
      );
    },
  });
}
