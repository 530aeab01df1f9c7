import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { ActionContext } from '@backstage/plugin-scaffolder-node';
import { JsonObject } from '@backstage/types';
import {
  parseResourceRef,
  resourceStates,
  stringifyResourceRef,
  tierIds,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  createIdpClient,
  IdpClient,
  IdpError,
  Resource,
} from '@idp-multicloud/sdk';
import { createHash } from 'node:crypto';
import { DateTime, Duration } from 'luxon';
import { z } from 'zod/v3';

/**
 * What the control plane actions need from the backend: discovery to find the control plane,
 * and auth to act for the user who runs the template.
 *
 * @public
 */
export interface ControlPlaneActionOptions {
  discovery: DiscoveryService;
  auth: AuthService;
}

type Ctx = ActionContext<JsonObject, JsonObject>;

/**
 * A client of the control plane that acts as the template's initiator: every request carries
 * a token issued on behalf of that user, so the control plane authorizes and audits the call
 * as the user, not as the scaffolder. A fresh token per request: waiting for a resource can
 * outlast one token.
 */
export async function clientFor(
  options: ControlPlaneActionOptions,
  ctx: Pick<Ctx, 'getInitiatorCredentials'>,
): Promise<IdpClient> {
  const onBehalfOf = await ctx.getInitiatorCredentials();
  return createIdpClient({
    discoveryApi: options.discovery,
    token: async () =>
      (
        await options.auth.getPluginRequestToken({
          onBehalfOf,
          targetPluginId: 'control-plane',
        })
      ).token,
  });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_MESSAGE =
  'must be lowercase letters, digits and dashes, starting and ending with a letter or digit';

/** Input fields shared by the actions (zod v3, as the scaffolder makes JSON Schema of it). */
export const fields = {
  name: (zImpl: typeof z) =>
    zImpl.string().max(63).regex(DNS_LABEL, DNS_LABEL_MESSAGE),
  ref: (zImpl: typeof z) =>
    zImpl
      .string()
      .regex(
        /^(resource:)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
        'must be a resource ref: resource:<namespace>/<name>',
      )
      .describe(
        'the resource: resource:<namespace>/<name>, or <namespace>/<name>',
      ),
  tier: (zImpl: typeof z) => zImpl.enum(tierIds),
  timeout: (zImpl: typeof z) =>
    zImpl
      .string()
      .regex(
        /^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/,
        'must be an ISO 8601 duration such as PT90S, PT15M or PT1H',
      )
      .optional()
      .describe(
        'how long to wait before failing the step, as an ISO 8601 duration (default PT15M)',
      ),
};

/** Milliseconds of a `timeout` input (an ISO 8601 duration), 15 minutes by default. */
export function timeoutMs(timeout: string | undefined): number {
  if (timeout === undefined) return 15 * 60_000;
  const duration = Duration.fromISO(timeout);
  if (!duration.isValid || duration.toMillis() <= 0) {
    throw new InputError(
      `timeout: must be a positive ISO 8601 duration such as PT15M, got '${timeout}'`,
    );
  }
  return duration.toMillis();
}

/**
 * Validates an action's input with its own zod schema. The scaffolder checks the JSON Schema
 * made from it, but applies no defaults and no refinements; this names every field at fault.
 */
export function parseInput<T extends z.ZodTypeAny>(
  actionId: string,
  schema: (zImpl: typeof z) => T,
  input: unknown,
): z.output<T> {
  const result = schema(z).safeParse(input);
  if (!result.success) {
    const issues = result.error.issues
      .map(i => `${i.path.join('.') || '(input)'}: ${i.message}`)
      .join('; ');
    throw new InputError(`Invalid input to ${actionId}: ${issues}`);
  }
  return result.data;
}

/** The canonical `resource:<namespace>/<name>` of any accepted form of a ref. */
export function canonicalRef(ref: string): string {
  return stringifyResourceRef(parseResourceRef(ref));
}

/**
 * The Idempotency-Key of a mutating call made by one step of one task: the same task and step
 * (a retried or recovered task) always sends the same key, so the control plane answers a
 * repeat with the first result instead of doing the work again.
 */
export function idempotencyKeyFor(
  ctx: Pick<Ctx, 'task' | 'step'>,
  purpose: string,
): string {
  const raw = `scaffolder:${ctx.task.id}:${ctx.step?.id ?? 'step'}:${purpose}`;
  if (raw.length <= 200 && /^[\x21-\x7e]+$/.test(raw)) return raw;
  return `scaffolder:${createHash('sha256').update(raw).digest('hex')}`;
}

/** The outputs every resource action gives: where it is and how to reach it. */
export const resourceOutputSchema = {
  ref: (zImpl: typeof z) =>
    zImpl.string().describe('the resource ref, resource:<namespace>/<name>'),
  state: (zImpl: typeof z) =>
    zImpl
      .enum(resourceStates)
      .describe('the state of the resource when the step ended'),
  cell: (zImpl: typeof z) =>
    zImpl.string().optional().describe('the cell it runs in, once placed'),
  provider: (zImpl: typeof z) =>
    zImpl.string().optional().describe('the provider it runs on, once placed'),
  cluster: (zImpl: typeof z) =>
    zImpl.string().optional().describe('the cluster it runs on, once placed'),
  endpoint: (zImpl: typeof z) =>
    zImpl
      .object({
        host: zImpl.string(),
        port: zImpl.number(),
        hostname: zImpl.string().optional(),
      })
      .optional()
      .describe('where clients connect, once it is READY'),
  connectionSecret: (zImpl: typeof z) =>
    zImpl
      .object({
        name: zImpl.string().describe('name of the secret'),
        namespace: zImpl.string().describe('namespace of the secret'),
        cluster: zImpl.string().describe('the cluster the secret is on'),
      })
      .optional()
      .describe(
        'where the connection details are (a reference, never the secret itself); set once it is READY',
      ),
};

/** The outputs of a resource, for {@link resourceOutputSchema}. */
export function resourceOutputs(resource: Resource) {
  const { placement, endpoint, connectionSecret } = resource.status;
  return {
    ref: resource.ref,
    state: resource.status.state,
    cell: placement?.cell,
    provider: placement?.provider,
    cluster: placement?.cluster,
    endpoint,
    connectionSecret,
  };
}

/** Writes each defined output. */
export function emit(ctx: Pick<Ctx, 'output'>, outputs: object) {
  for (const [key, value] of Object.entries(outputs)) {
    if (value !== undefined) ctx.output(key, value);
  }
}

/**
 * Turns the control plane's answer into an error a template user can act on: a validation
 * error names the fields the server refused, any other keeps the server's message and name.
 */
export function explain(error: unknown, doing: string): Error {
  if (!(error instanceof Error)) {
    return new Error(`Could not ${doing}: ${String(error)}`);
  }
  if (error instanceof IdpError && error.statusCode === 400) {
    const details = error.issues.length
      ? error.issues.map(i => `${i.path}: ${i.message}`).join('; ')
      : error.message;
    return new InputError(`Could not ${doing}: ${details}`, error);
  }
  const wrapped = new Error(`Could not ${doing}: ${error.message}`, {
    cause: error,
  });
  wrapped.name = error.name;
  return wrapped;
}

/** One line of a resource's event for the task log. */
export function describeEvent(
  ref: string,
  event: { type: string; message?: string; at?: string },
) {
  const at = event.at ? `${DateTime.fromISO(event.at).toFormat('TT')} ` : '';
  return `${at}${ref}: ${event.message ?? event.type}`;
}
