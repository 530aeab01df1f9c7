import { createMockDirectory } from '@backstage/backend-test-utils';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startControlPlane, users } from '../__testUtils__/controlPlane';
import { createGenerateAction } from './generate';

jest.setTimeout(60_000);

describe('control-plane:generate, against a running control plane', () => {
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  beforeAll(async () => {
    cp = await startControlPlane();
    const idp = cp.clientAs(users.ana);
    const common = {
      owner: 'group:default/payments',
      component: 'component:default/orders',
      tier: 'medium' as const,
      cell: 'cell-us',
    };
    await idp.resources.create({
      ...common,
      name: 'orders-db',
      product: 'postgres',
    });
    await idp.resources.create({
      ...common,
      name: 'orders',
      product: 'webapp',
      dependsOn: ['orders-db'],
      params: { image: 'ghcr.io/acme/orders', version: '0.1.0' },
    });
  });
  afterAll(() => cp.stop());

  const outputsOf = (ctx: { output: jest.Mock }) =>
    Object.fromEntries(ctx.output.mock.calls);

  it('writes the docker-compose.yaml of a new service into the workspace, as the template user', async () => {
    const workspace = createMockDirectory({ content: {} });
    const ctx = cp.context(
      { format: 'compose', component: 'component:default/orders' },
      users.ana,
      { workspacePath: workspace.path },
    );
    await createGenerateAction(cp.options).handler(ctx);
    expect(outputsOf(ctx)).toEqual({
      files: ['docker-compose.yaml', '.env.example'],
      resources: ['resource:default/orders-db', 'resource:default/orders'],
    });
    const compose = parse(
      readFileSync(join(workspace.path, 'docker-compose.yaml'), 'utf8'),
    );
    expect(compose.services['orders-db'].image).toBe('postgres:17');
    expect(compose.services.orders.depends_on).toEqual({
      'orders-db': { condition: 'service_healthy' },
    });
  });

  it('writes under targetPath, and never outside the workspace', async () => {
    const workspace = createMockDirectory({ content: {} });
    const action = createGenerateAction(cp.options);
    const ctx = cp.context(
      {
        format: 'terraform',
        component: 'orders',
        provider: 'azure',
        targetPath: 'infra',
      },
      users.ana,
      { workspacePath: workspace.path },
    );
    await action.handler(ctx);
    expect(outputsOf(ctx).files).toContain('infra/terraform/azure/main.tf');
    expect(
      readFileSync(
        join(workspace.path, 'infra/terraform/azure/main.tf'),
        'utf8',
      ),
    ).toContain('resource "azurerm_postgresql_flexible_server" "orders_db"');

    await expect(
      action.handler(
        cp.context(
          { format: 'kcl', component: 'orders', targetPath: '../..' },
          users.ana,
          { workspacePath: workspace.path },
        ),
      ),
    ).rejects.toThrow(/outside the workspace/);
  });

  it('names the field of a bad input, and finds nothing for a user who may read nothing', async () => {
    const action = createGenerateAction(cp.options);
    await expect(
      action.handler(
        cp.context({ format: 'compose', component: 'orders', project: 'x' }),
      ),
    ).rejects.toThrow(/component: give exactly one of component and project/);
    await expect(
      action.handler(
        cp.context({ format: 'compose', component: 'orders' }, users.eve),
      ),
    ).rejects.toThrow(/Could not generate compose for orders/);
  });
});
