import {
  OpenApiGeneratorV31,
  OpenAPIRegistry,
  ResponseConfig,
} from '@asteasolutions/zod-to-openapi';
import {
  errorResponseSchema,
  reviewProposedSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { AnyRoute } from './route';

const json = (schema: z.ZodType, description: string): ResponseConfig => ({
  description,
  content: { 'application/json': { schema } },
});

const errorDescriptions: Record<number, string> = {
  400: 'A bad request; `error.issues` names each field',
  401: 'No or invalid credentials',
  403: 'Not allowed by the permission policy',
  404: 'No such object',
  409: 'Conflicts with the current state, or a request with this Idempotency-Key is in flight',
  503: 'The database is unavailable; nothing was changed. Retry after `Retry-After` seconds, with the same Idempotency-Key',
  422: 'This Idempotency-Key was used for a different request, or a quota or budget would be exceeded (`error.name` QuotaExceededError)',
};

const requestHeaders = z.object({
  'x-request-id': z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/)
    .optional()
    .meta({
      description:
        'Identifies the request in the audit log and the commit it makes (1 to 64 printable ASCII characters; generated when left out, answered in the same header)',
    }),
});

const commandHeaders = requestHeaders.extend({
  'idempotency-key': z.string().optional().meta({
    description:
      'Replays the first response of a request with the same key and body',
  }),
});

/**
 * The error statuses a route can answer with, from what its entry declares. Every route
 * answers 400 to a malformed `x-request-id`, and 503 while the database is unavailable.
 */
function errorStatuses(route: AnyRoute): number[] {
  const statuses = new Set([400, 503]);
  if (route.public) return [...statuses].sort();
  statuses.add(401);
  const { params } = route.request ?? {};
  if (route.permission || route.permissionNote) statuses.add(403);
  if (params) statuses.add(404);
  if (route.command) {
    statuses.add(404);
    statuses.add(409);
    statuses.add(422);
  }
  return [...statuses].sort();
}

/** Who may call the route, in words, for its description. */
function permissionText(route: AnyRoute): string | undefined {
  if (route.public) return 'Served without credentials.';
  const parts: string[] = [];
  if (route.permission) {
    parts.push(
      `Needs \`${route.permission.name}\`${
        'resourceType' in route.permission
          ? ' on each resource it reads or changes'
          : ''
      }.`,
    );
  }
  if (route.permissionNote) parts.push(route.permissionNote);
  return parts.length ? parts.join(' ') : undefined;
}

/**
 * The OpenAPI 3.1 document of the control plane API, built from the route table: the same
 * entries the router serves, with the zod schemas of
 * `@idp-multicloud/plugin-control-plane-common` it validates with.
 */
export function createOpenApiDocument(
  routes: AnyRoute[],
): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
  });
  for (const route of routes) {
    const { params, query, body, bodyOptional, headers } = route.request ?? {};
    const responses: Record<number, ResponseConfig> = {
      [route.response.status]: route.response.content
        ? {
            description: route.response.description,
            content: Object.fromEntries(
              Object.entries(route.response.content).map(([type, schema]) => [
                type,
                { schema },
              ]),
            ),
          }
        : json(route.response.schema, route.response.description),
    };
    if (route.command?.reviewable) {
      // A change that needs review is proposed as a pull request instead (202).
      const proposed =
        'Or, when the change needs review: proposed as a pull request, to follow at `GET /changes/proposals/{id}`';
      const own = route.response.status === 202;
      responses[202] = json(
        own
          ? z.union([route.response.schema, reviewProposedSchema])
          : reviewProposedSchema,
        own ? `${route.response.description}. ${proposed}` : proposed,
      );
    }
    for (const status of errorStatuses(route)) {
      responses[status] = json(errorResponseSchema, errorDescriptions[status]);
    }
    const common = route.command ? commandHeaders : requestHeaders;
    const allHeaders = headers ? common.extend(headers.shape) : common;
    const description = [route.description, permissionText(route)]
      .filter(Boolean)
      .join('\n\n');
    registry.registerPath({
      method: route.method,
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      ...(description ? { description } : {}),
      security: route.public ? [] : [{ bearer: [] }],
      ...(route.permission ? { 'x-permission': route.permission.name } : {}),
      request: {
        ...(params ? { params: params as z.ZodObject } : {}),
        ...(query ? { query: query as z.ZodObject } : {}),
        headers: allHeaders,
        ...(body
          ? {
              body: {
                ...(bodyOptional ? { required: false } : {}),
                content: { 'application/json': { schema: body } },
              },
            }
          : {}),
      },
      responses,
    });
  }
  const document = new OpenApiGeneratorV31(
    registry.definitions,
  ).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'IDP Multicloud control plane',
      version: '1',
      description:
        "The API of the control plane backend plugin, under /api/control-plane. Every error answers with Backstage's error body. Generated from the route table of the backend plugin and the zod schemas in @idp-multicloud/plugin-control-plane-common.",
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/api/control-plane' }],
  });
  return document as unknown as Record<string, unknown>;
}
