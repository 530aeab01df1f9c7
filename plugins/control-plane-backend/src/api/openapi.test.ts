import { TestDatabases } from '@backstage/backend-test-utils';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { startControlPlane } from '../__testUtils__/backend';
import { createOpenApiDocument } from './openapi';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('the API contract', () => {
  it('is committed as generated from the zod schemas, and served unauthenticated', async () => {
    const committed = parse(
      readFileSync(resolve(__dirname, '../../openapi.yaml'), 'utf8'),
    );
    expect(committed).toEqual(
      JSON.parse(JSON.stringify(createOpenApiDocument())),
    );
    expect(Object.keys(committed.paths)).toEqual(
      expect.arrayContaining([
        '/resources',
        '/resources/{namespace}/{name}/operations',
        '/manifests/apply',
        '/audit/verify',
      ]),
    );

    const cp = await startControlPlane(databases, 'SQLITE_3');
    try {
      const served = await request(cp.server).get(
        '/api/control-plane/openapi.json',
      );
      expect(served.status).toBe(200);
      expect(served.body).toEqual(committed);
    } finally {
      await cp.cleanup();
    }
  });
});
