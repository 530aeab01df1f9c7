import {
  HealthResponse,
  healthResponseSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { databaseClient, migrationStatus } from '../../database/migrations';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<ApiServices, 'db'> & {
  /** The OpenAPI document, built once from the route table. */
  openApiDocument: () => Record<string, unknown>;
};

const route = routes<Deps>();

export const systemRoutes = [
  route({
    method: 'get',
    path: '/health',
    operationId: 'getHealth',
    summary:
      'Whether the control plane is up, its database client and migrations',
    public: true,
    response: {
      status: 200,
      schema: healthResponseSchema,
      description: 'Health',
    },
    run: async (_input, { db }) => {
      const migrations = await migrationStatus(db);
      const body: HealthResponse = {
        status: migrations.pending.length === 0 ? 'ok' : 'degraded',
        database: { client: databaseClient(db), migrations },
      };
      return { body };
    },
  }),

  route({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    public: true,
    response: {
      status: 200,
      schema: z.record(z.string(), z.unknown()),
      description: 'The OpenAPI document',
    },
    run: async (_input, { openApiDocument }) => ({ body: openApiDocument() }),
  }),
];
