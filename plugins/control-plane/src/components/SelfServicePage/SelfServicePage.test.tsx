import '@testing-library/jest-dom';
import { Entity } from '@backstage/catalog-model';
import {
  createFrontendPlugin,
  createRouteRef,
  createSubRouteRef,
  FrontendFeature,
  RouteRef,
} from '@backstage/frontend-plugin-api';
import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import {
  builtinProductParameters,
  builtinProducts,
} from '@idp-multicloud/plugin-control-plane-common';
import { Schemas } from '@idp-multicloud/sdk';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { controlPlanePlugin } from '../../plugin';
import { reply, replyError } from '../../__testUtils__/msw';
import { SelfServicePage } from './SelfServicePage';

const base = '*/api/control-plane';

const mysql: Schemas['Product'] = {
  id: 'mysql',
  title: 'MySQL',
  description: 'A managed MySQL database',
  category: 'database',
  source: 'builtin',
  tiers: ['critical', 'high'],
  operations: ['backup', 'restore'],
  dependsOn: [],
  features: {},
  waivedFeatures: {},
  sizes: {},
  parameters: {
    type: 'object',
    properties: {
      version: { type: 'string', enum: ['8.0', '8.4'], default: '8.0' },
      storageGi: {
        type: 'integer',
        default: 20,
        description: 'Disk size in GiB',
      },
    },
    required: ['version'],
  },
};
const redis: Schemas['Product'] = {
  ...mysql,
  id: 'redis',
  title: 'Redis',
  description: 'A cache',
  category: 'cache',
  parameters: { type: 'object' },
};
const kafka: Schemas['Product'] = {
  ...mysql,
  id: 'kafka',
  title: 'Kafka',
  description: 'A topic',
  category: 'messaging',
  tiers: ['low'],
  parameters: { type: 'object' },
};
const tier: Schemas['Tier'] = {
  id: 'critical',
  description: 'Revenue-critical',
  sla: { availability: 99.99, p99LatencyMs: 50, rtoMinutes: 15, rpoMinutes: 5 },
  requiredFeatures: { backups: true, encryption: true, multiAZ: true },
  placement: {
    minProviderHealth: 0.8,
    maxClusterUtilization: 0.7,
    requireMultiAZ: true,
  },
  operations: { maxAttempts: 5, stepTimeoutSeconds: 300 },
};

/** A scaffolder Template as the catalog holds it. */
const template = (
  name: string,
  title: string,
  products: string | undefined,
  parameters: object[] = [
    {
      properties: {
        name: { type: 'string' },
        tier: { type: 'string', enum: ['critical', 'high', 'medium', 'low'] },
      },
    },
  ],
): Entity => ({
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: {
    name,
    namespace: 'default',
    title,
    annotations: products ? { 'idp.multicloud/products': products } : {},
  },
  spec: { type: 'resource', parameters, steps: [] },
});

const templates = [
  template('new-mysql-database', 'New MySQL database', 'mysql'),
  template(
    'new-web-service',
    'New web service with MySQL and Redis',
    'webapp, mysql, redis',
  ),
  // No tier field: the link carries no formData.
  template('request-redis-cache', 'Request a Redis cache', 'redis', [
    { properties: { name: { type: 'string' } } },
  ]),
  // Not annotated: it requests nothing the self-service catalog knows of.
  template('kafka-topic', 'A Kafka topic', undefined),
];

const formData = (href: string | null) =>
  JSON.parse(new URL(href!, 'http://app').searchParams.get('formData')!);

describe('SelfServicePage', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  let estimates: Schemas['CostEstimateRequest'][];

  beforeEach(() => {
    estimates = [];
    server.use(
      http.get(`${base}/products`, () =>
        reply('ProductList', { items: [mysql, redis, kafka] }),
      ),
      http.get(`${base}/tiers`, () => reply('TierList', { items: [tier] })),
      http.post(`${base}/cost/estimate`, async ({ request }) => {
        const body = (await request.json()) as Schemas['CostEstimateRequest'];
        estimates.push(body);
        if (body.product === 'kafka') {
          return replyError(404, 'NotFoundError', 'no');
        }
        const critical = body.tier === 'critical';
        return reply('CostEstimate', {
          currency: 'USD',
          product: body.product,
          tier: body.tier ?? 'medium',
          params: {},
          estimates: [
            { provider: 'gcp', monthlyCost: critical ? 380 : 110 },
            { provider: 'aws', monthlyCost: critical ? 410 : 120 },
          ],
          cheapest: { provider: 'gcp', monthlyCost: critical ? 380 : 110 },
        });
      }),
    );
  });

  const render = (
    options: {
      entities?: Entity[];
      features?: FrontendFeature[];
      mountedRoutes?: Record<string, RouteRef>;
      catalog?: ReturnType<typeof catalogApiMock.mock>;
    } = {},
  ) =>
    renderInTestApp(<SelfServicePage />, {
      features: [controlPlanePlugin, ...(options.features ?? [])],
      mountedRoutes: options.mountedRoutes,
      apis: [
        options.catalog ??
          catalogApiMock({ entities: options.entities ?? templates }),
      ],
    });

  it('shows what each tier guarantees', async () => {
    render();
    const row = await screen.findByRole('row', { name: 'critical' });
    expect(within(row).getByText('99.99%')).toBeInTheDocument();
    expect(within(row).getByText('50 ms')).toBeInTheDocument();
    expect(within(row).getByText('15 min')).toBeInTheDocument();
    expect(within(row).getByText('5 min')).toBeInTheDocument();
    expect(
      within(row).getByText('backups, encryption, multiAZ'),
    ).toBeInTheDocument();
  });

  it('shows a product with its parameters and a price estimate per tier', async () => {
    render();
    const params = await screen.findByRole('table', {
      name: 'Parameters of MySQL',
    });
    const storage = within(params).getByRole('row', { name: /storageGi/ });
    expect(within(storage).getByText('Disk size in GiB')).toBeInTheDocument();
    expect(within(params).getByText('8.0 | 8.4')).toBeInTheDocument();

    const prices = await screen.findByRole('list', {
      name: 'Price estimates for mysql',
    });
    expect(within(prices).getByText('gcp: $380.00 / month')).toBeVisible();
    expect(
      screen.getAllByText(/a month on gcp \(tier critical, in any cell\)/)[0],
    ).toBeVisible();
    await userEvent.selectOptions(
      screen.getByRole('combobox', { name: 'Tier of MySQL' }),
      'high',
    );
    expect(
      await within(
        await screen.findByRole('list', { name: 'Price estimates for mysql' }),
      ).findByText('gcp: $110.00 / month'),
    ).toBeVisible();
    // Its required parameter at its default: what the estimate is for.
    expect(estimates).toContainEqual({
      product: 'mysql',
      tier: 'high',
      params: { version: '8.0' },
    });
    expect(
      screen.getAllByText('Priced with version "8.0".')[0],
    ).toBeInTheDocument();
  });

  it('prices every product, asking with the examples of the required parameters that have no default', async () => {
    // The built-in web application requires an image and its tag, and has no default for
    // either; the server refuses an estimate without them, as the backend does.
    const webapp: Schemas['Product'] = {
      ...builtinProducts.webapp,
      id: 'webapp',
      source: 'builtin',
    };
    server.use(
      http.get(`${base}/products`, () =>
        reply('ProductList', { items: [webapp, mysql] }),
      ),
      http.post(`${base}/cost/estimate`, async ({ request }) => {
        const body = (await request.json()) as Schemas['CostEstimateRequest'];
        estimates.push(body);
        if (body.product === 'webapp') {
          const checked = builtinProductParameters.webapp.safeParse(
            body.params ?? {},
          );
          if (!checked.success) {
            return replyError(400, 'InputError', checked.error.message);
          }
        }
        return reply('CostEstimate', {
          currency: 'USD',
          product: body.product,
          tier: body.tier ?? 'medium',
          params: body.params ?? {},
          estimates: [{ provider: 'aws', monthlyCost: 42 }],
          cheapest: { provider: 'aws', monthlyCost: 42 },
        });
      }),
    );
    render();
    for (const id of ['webapp', 'mysql']) {
      expect(
        await within(
          await screen.findByRole('list', {
            name: `Price estimates for ${id}`,
          }),
        ).findByText('aws: $42.00 / month'),
      ).toBeVisible();
    }
    expect(screen.queryByText(/Could not load/)).not.toBeInTheDocument();
    expect(estimates).toContainEqual({
      product: 'webapp',
      tier: 'critical',
      params: { image: 'ghcr.io/acme/checkout', version: '1.4.2' },
    });
    expect(
      screen.getByText(
        'Priced with image "ghcr.io/acme/checkout", version "1.4.2".',
      ),
    ).toBeInTheDocument();
  });

  it('lists tiers by criticality, the most critical first', async () => {
    const tierOf = (id: Schemas['Tier']['id']) => ({ ...tier, id });
    // The server lists them alphabetically.
    const alphabetical = ['critical', 'high', 'low', 'medium'] as const;
    server.use(
      http.get(`${base}/tiers`, () =>
        reply('TierList', { items: alphabetical.map(tierOf) }),
      ),
      http.get(`${base}/products`, () =>
        reply('ProductList', {
          items: [{ ...mysql, tiers: ['high', 'low', 'medium'] }],
        }),
      ),
    );
    render();
    const table = await screen.findByRole('table', {
      name: 'Tiers and what they guarantee',
    });
    await within(table).findByRole('row', { name: 'low' });
    expect(
      within(table)
        .getAllByRole('row')
        .slice(1)
        .map(r => r.getAttribute('aria-label') ?? r.textContent),
    ).toEqual(['critical', 'high', 'medium', 'low']);

    const select = await screen.findByRole('combobox', {
      name: 'Tier of MySQL',
    });
    expect(
      within(select)
        .getAllByRole('option')
        .map(o => o.textContent),
    ).toEqual(['high', 'medium', 'low']);
    expect(select).toHaveValue('high');
    expect(screen.getByText(/tiers high, medium, low/)).toBeInTheDocument();
  });

  it("links Request to the catalog's template for the product, prefilled with the chosen tier", async () => {
    render();
    const request = await screen.findByRole('link', { name: 'Request MySQL' });
    const href = () => request.getAttribute('href');
    expect(href()).toMatch(
      /^\/create\/templates\/default\/new-mysql-database\?formData=/,
    );
    expect(formData(href())).toEqual({ tier: 'critical' });
    expect(
      screen.getByText(
        /Opens the template “New MySQL database” at tier critical/,
      ),
    ).toBeInTheDocument();

    await userEvent.selectOptions(
      screen.getByRole('combobox', { name: 'Tier of MySQL' }),
      'high',
    );
    expect(formData(href())).toEqual({ tier: 'high' });

    // The web service template provisions MySQL too: offered as well, after the specific one.
    const also = screen.getAllByRole('link', {
      name: 'New web service with MySQL and Redis',
    });
    expect(also).toHaveLength(2); // under MySQL and under Redis
    expect(also[0].getAttribute('href')).toMatch(
      /^\/create\/templates\/default\/new-web-service\?formData=/,
    );
  });

  it('links a template without a tier field without prefilling it', async () => {
    render();
    expect(
      await screen.findByRole('link', { name: 'Request Redis' }),
    ).toHaveAttribute('href', '/create/templates/default/request-redis-cache');
    expect(
      screen.getByText('Opens the template “Request a Redis cache”.', {
        exact: false,
      }),
    ).toBeInTheDocument();
  });

  it('follows where the app mounts the scaffolder', async () => {
    // A scaffolder plugin of its own, mounted at /golden-paths instead of /create.
    const root = createRouteRef();
    const scaffolder = createFrontendPlugin({
      pluginId: 'scaffolder',
      routes: {
        root,
        selectedTemplate: createSubRouteRef({
          path: '/templates/:namespace/:templateName',
          parent: root,
        }),
      },
    });
    render({
      features: [scaffolder],
      mountedRoutes: { '/golden-paths': root },
    });
    const request = await screen.findByRole('link', { name: 'Request MySQL' });
    expect(request.getAttribute('href')).toMatch(
      /^\/golden-paths\/templates\/default\/new-mysql-database\?formData=/,
    );
    expect(
      screen.getAllByRole('link', { name: 'browse all templates' })[0],
    ).toHaveAttribute('href', '/golden-paths');
  });

  it('says when no template requests a product, how to add one, and that there is no estimate', async () => {
    render();
    expect(
      await screen.findByText(/No golden-path template requests Kafka yet/),
    ).toBeInTheDocument();
    expect(
      screen.getByText('idp.multicloud/products: kafka'),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('link', { name: 'Request Kafka' }),
    ).not.toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'browse all templates' }),
    ).toHaveAttribute('href', '/create');
    expect(await screen.findByText('No price estimate')).toBeInTheDocument();
  });

  it('says so when no provider can run a product at the tier', async () => {
    server.use(
      http.post(`${base}/cost/estimate`, () =>
        reply('CostEstimate', {
          currency: 'USD',
          product: 'mysql',
          tier: 'critical',
          cell: 'cell-eu',
          params: {},
          estimates: [],
        }),
      ),
    );
    render();
    expect(
      (
        await screen.findAllByText(
          /No provider in cell-eu can run MySQL at tier critical, so there is no price/,
        )
      )[0],
    ).toBeVisible();
  });

  it('says the templates could not be looked up when the catalog fails', async () => {
    render({
      catalog: catalogApiMock.mock({
        getEntities: async () => {
          throw new Error('catalog is down');
        },
      }),
    });
    expect(
      (
        await screen.findAllByText(
          /Could not look up the templates that request MySQL: catalog is down/,
        )
      )[0],
    ).toBeVisible();
    expect(
      screen.queryByRole('link', { name: 'Request MySQL' }),
    ).not.toBeInTheDocument();
  });

  it('says what to do when there is nothing to request', async () => {
    server.use(
      http.get(`${base}/products`, () => reply('ProductList', { items: [] })),
    );
    render();
    expect(
      await screen.findByText('Nothing to request yet'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/Ask your platform team to add one/),
    ).toBeInTheDocument();
  });

  it('with a project chosen, shows its effective definitions with each field’s origin, and its compliance', async () => {
    const global = {
      from: 'global',
      source: 'builtin',
      product: 'mysql',
    } as const;
    const payments = {
      from: 'project',
      project: 'payments',
      definition: 'mysql',
      path: 'projects/payments/products/mysql.yaml',
    } as const;
    server.use(
      http.get(`${base}/projects/payments/products/:id`, ({ params }) =>
        params.id === 'mysql'
          ? reply('EffectiveDefinition', {
              project: 'payments',
              id: 'mysql',
              source: 'builtin',
              publish: false,
              chain: [global, payments],
              spec: {
                ...mysql,
                tiers: ['critical'],
                parameters: {
                  type: 'object',
                  properties: {
                    version: { type: 'string', enum: ['8.4'], default: '8.4' },
                    storageGi: { type: 'integer', default: 20 },
                  },
                },
              },
              fields: [
                {
                  path: 'parameters.version.enum',
                  value: ['8.4'],
                  origin: payments,
                },
                {
                  path: 'parameters.version.default',
                  value: '8.4',
                  origin: payments,
                },
                {
                  path: 'parameters.storageGi.default',
                  value: 20,
                  origin: global,
                },
              ],
            })
          : reply('EffectiveDefinition', {
              project: 'payments',
              id: String(params.id),
              source: 'builtin',
              publish: false,
              chain: [{ ...global, product: String(params.id) }],
              spec: { ...redis },
              fields: [],
            }),
      ),
      http.get(`${base}/projects/payments/compliance`, () =>
        reply('ComplianceReport', {
          project: 'payments',
          declared: true,
          regimes: ['pci-dss'],
          approvals: {
            breaking: ['group:default/security-team'],
            versionBump: [],
            config: [],
          },
          sla: {},
          resources: ['resource:payments/orders-db'],
          checks: [
            {
              rule: 'compliance.pci-dss.encryption-at-rest',
              subject: 'resource:payments/orders-db',
              status: 'fail',
              reason: 'resource:payments/orders-db has encryption: false',
            },
          ],
          summary: { pass: 0, fail: 1, unverified: 0 },
        }),
      ),
    );
    render();
    await screen.findByRole('table', { name: 'Parameters of MySQL' });
    await userEvent.type(screen.getByLabelText('Project'), 'payments');
    await userEvent.click(
      screen.getByRole('button', { name: "Show the project's definitions" }),
    );
    expect(
      await screen.findByText(
        /global mysql → project payments \(projects\/payments\/products\/mysql\.yaml\)/,
      ),
    ).toBeInTheDocument();
    const params = screen.getByRole('table', { name: 'Parameters of MySQL' });
    const version = within(params).getByRole('row', { name: /version/ });
    expect(within(version).getByText('8.4')).toBeInTheDocument();
    expect(
      within(version).getByText(
        'project payments (projects/payments/products/mysql.yaml)',
      ),
    ).toBeInTheDocument();
    const storage = within(params).getByRole('row', { name: /storageGi/ });
    expect(within(storage).getByText('global mysql')).toBeInTheDocument();
    // The project narrows the tiers: only critical is offered.
    const tiers = screen.getByRole('combobox', { name: 'Tier of MySQL' });
    expect(
      within(tiers)
        .getAllByRole('option')
        .map(o => o.textContent),
    ).toEqual(['critical']);

    const rules = await screen.findByRole('table', {
      name: 'Compliance rules of project payments',
    });
    const row = within(rules).getByRole('row', {
      name: /compliance\.pci-dss\.encryption-at-rest/,
    });
    expect(within(row).getByText('✗ fail')).toBeInTheDocument();
    expect(
      within(row).getByText(
        'resource:payments/orders-db has encryption: false',
      ),
    ).toBeInTheDocument();
  });
});
