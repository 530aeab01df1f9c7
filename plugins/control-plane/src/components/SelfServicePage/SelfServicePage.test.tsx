import '@testing-library/jest-dom';
import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { controlPlanePlugin } from '../../plugin';
import { SelfServicePage } from './SelfServicePage';

const base = '*/api/control-plane';

const mysql = {
  id: 'mysql',
  title: 'MySQL',
  description: 'A managed MySQL database',
  category: 'database',
  source: 'builtin',
  tiers: ['critical', 'high'],
  operations: ['backup', 'restore'],
  dependsOn: [],
  features: {},
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
const kafka = {
  ...mysql,
  id: 'kafka',
  title: 'Kafka',
  description: 'A topic',
  tiers: ['low'],
  parameters: { type: 'object' },
};
const tier = {
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

describe('SelfServicePage', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  let estimates: unknown[];

  beforeEach(() => {
    estimates = [];
    server.use(
      http.get(`${base}/products`, () =>
        HttpResponse.json({ items: [mysql, kafka] }),
      ),
      http.get(`${base}/tiers`, () => HttpResponse.json({ items: [tier] })),
      http.post(`${base}/cost/estimate`, async ({ request }) => {
        const body = (await request.json()) as {
          product: string;
          tier: string;
        };
        estimates.push(body);
        if (body.product === 'kafka') {
          return HttpResponse.json(
            { error: { name: 'NotFoundError', message: 'no' } },
            { status: 404 },
          );
        }
        return HttpResponse.json({
          currency: 'USD',
          product: body.product,
          tier: body.tier,
          cell: 'cell-us',
          estimates: [
            {
              provider: 'aws',
              monthlyCost: body.tier === 'critical' ? 410 : 120,
            },
            {
              provider: 'gcp',
              monthlyCost: body.tier === 'critical' ? 380 : 110,
            },
          ],
          cheapest: {
            provider: 'gcp',
            monthlyCost: body.tier === 'critical' ? 380 : 110,
          },
        });
      }),
    );
  });

  it('shows what each tier guarantees', async () => {
    renderInTestApp(<SelfServicePage />, { features: [controlPlanePlugin] });
    const row = await screen.findByRole('row', { name: 'critical' });
    expect(within(row).getByText('99.99%')).toBeInTheDocument();
    expect(within(row).getByText('50 ms')).toBeInTheDocument();
    expect(within(row).getByText('15 min')).toBeInTheDocument();
    expect(within(row).getByText('5 min')).toBeInTheDocument();
    expect(
      within(row).getByText('backups, encryption, multiAZ'),
    ).toBeInTheDocument();
  });

  it('shows a product with its parameters, a price estimate per tier and a Request link to its template', async () => {
    renderInTestApp(<SelfServicePage />, { features: [controlPlanePlugin] });
    const params = await screen.findByRole('table', {
      name: 'Parameters of MySQL',
    });
    const storage = within(params).getByRole('row', { name: /storageGi/ });
    expect(within(storage).getByText('Disk size in GiB')).toBeInTheDocument();
    expect(within(params).getByText('8.0 | 8.4')).toBeInTheDocument();

    expect(await screen.findByText('$380.00')).toBeInTheDocument();
    await userEvent.selectOptions(
      screen.getAllByRole('combobox', { name: /Tier for the estimate/ })[0],
      'high',
    );
    expect(await screen.findByText('$110.00')).toBeInTheDocument();

    expect(screen.getByRole('link', { name: 'Request MySQL' })).toHaveAttribute(
      'href',
      '/create/templates/default/new-mysql-database',
    );
  });

  it('says so when a product has no template or no estimate', async () => {
    renderInTestApp(<SelfServicePage />, { features: [controlPlanePlugin] });
    expect(
      await screen.findByText(/No golden-path template requests Kafka yet/),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('link', { name: 'Request Kafka' }),
    ).not.toBeInTheDocument();
    expect(await screen.findByText('No price estimate')).toBeInTheDocument();
  });

  it('says what to do when there is nothing to request', async () => {
    server.use(
      http.get(`${base}/products`, () => HttpResponse.json({ items: [] })),
    );
    renderInTestApp(<SelfServicePage />, { features: [controlPlanePlugin] });
    expect(
      await screen.findByText('Nothing to request yet'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/Ask your platform team to add one/),
    ).toBeInTheDocument();
  });
});
