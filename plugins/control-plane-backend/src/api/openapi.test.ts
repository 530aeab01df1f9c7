import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { startControlPlane } from '../__testUtils__/backend';
import { ControlPlane } from '../controlPlane';
import { ResourceAuthorizer } from '../permissions/ResourceAuthorizer';
import { createOpenApiDocument } from './openapi';
import { createRouter, routeTable } from './router';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const committed = () =>
  parse(readFileSync(resolve(__dirname, '../../openapi.yaml'), 'utf8'));

/** Every route the router serves, as `METHOD /path/{param}`. */
async function routerRoutes(): Promise<string[]> {
  // Building the router registers its routes and calls nothing of the control plane.
  const router = await createRouter({
    controlPlane: {} as ControlPlane,
    httpAuth: mockServices.httpAuth(),
    authorizer: {} as ResourceAuthorizer,
    logger: mockServices.logger.mock(),
  });
  return router.stack
    .filter((layer: any) => layer.route)
    .flatMap((layer: any) =>
      Object.keys(layer.route.methods).map(
        method =>
          `${method.toUpperCase()} ${String(layer.route.path).replace(
            /:(\w+)/g,
            '{$1}',
          )}`,
      ),
    )
    .sort();
}

describe('the API contract', () => {
  it('is committed as generated from the zod schemas', () => {
    expect(committed()).toEqual(
      JSON.parse(JSON.stringify(createOpenApiDocument(routeTable))),
    );
  });

  it('is served by the router route for route, and no other', async () => {
    const documented = Object.entries(
      committed().paths as Record<string, Record<string, unknown>>,
    )
      .flatMap(([path, methods]) =>
        Object.keys(methods).map(m => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    const served = await routerRoutes();
    expect(served).toContain('POST /reconciler/run');
    expect(documented).toEqual(served);
  });

  it.each(databases.eachSupportedId())(
    'is served unauthenticated on %s',
    async databaseId => {
      const cp = await startControlPlane(databases, databaseId);
      try {
        const served = await request(cp.server).get(
          '/api/control-plane/openapi.json',
        );
        expect(served.status).toBe(200);
        expect(served.body).toEqual(committed());
      } finally {
        await cp.cleanup();
      }
    },
  );
});
