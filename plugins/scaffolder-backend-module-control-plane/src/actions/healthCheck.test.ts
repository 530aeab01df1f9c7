import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createIdpClient } from '@idp-multicloud/sdk';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { createHealthCheckAction } from './healthCheck';

describe('control-plane:health:check', () => {
  let server: Server;
  let health: unknown;
  let action: ReturnType<typeof createHealthCheckAction>;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(health));
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    action = createHealthCheckAction({
      client: createIdpClient({ baseUrl: `http://127.0.0.1:${port}` }),
    });
  });
  afterAll(() => new Promise(r => server.close(r)));

  it('passes and outputs the database client when the control plane is ok', async () => {
    health = {
      status: 'ok',
      database: {
        client: 'pg',
        migrations: { applied: ['a.js'], pending: [] },
      },
    };
    const ctx = createMockActionContext();
    await action.handler(ctx);
    expect(ctx.output).toHaveBeenCalledWith('status', 'ok');
    expect(ctx.output).toHaveBeenCalledWith('databaseClient', 'pg');
  });

  it('fails the task, naming pending migrations, when it is degraded', async () => {
    health = {
      status: 'degraded',
      database: {
        client: 'pg',
        migrations: {
          applied: [],
          pending: ['202611231930_createResources.js'],
        },
      },
    };
    await expect(action.handler(createMockActionContext())).rejects.toThrow(
      /degraded: migrations pending: 202611231930_createResources.js/,
    );
  });
});
