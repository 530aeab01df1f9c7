import {
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import request from 'supertest';
import { controlPlanePlugin } from './plugin';

const databases = TestDatabases.create();

describe.each(databases.eachSupportedId())(
  'control plane plugin on %s',
  databaseId => {
    it('migrates at start and reports its health without authentication', async () => {
      const knex = await databases.init(databaseId);
      const { server } = await startTestBackend({
        features: [controlPlanePlugin, mockServices.database.factory({ knex })],
      });

      const res = await request(server).get('/api/control-plane/health');

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'ok',
        database: {
          client: databaseId === 'SQLITE_3' ? 'better-sqlite3' : 'pg',
          migrations: {
            applied: expect.arrayContaining([
              '202611231930_createResources.js',
            ]),
            pending: [],
          },
        },
      });
      expect(await knex.schema.hasTable('resource_transitions')).toBe(true);
    });
  },
);
