import '@testing-library/jest-dom';
import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { builtinProducts } from '@idp-multicloud/plugin-control-plane-common';
import { Schemas } from '@idp-multicloud/sdk';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { controlPlanePlugin } from '../../plugin';
import { reply } from '../../__testUtils__/msw';
import { DefinitionChangesPage } from './DefinitionChangesPage';

const base = '*/api/control-plane';

const change: Schemas['DefinitionChange'] = {
  id: '0f5d7c1e-2a3b-4c5d-8e9f-a0b1c2d3e4f5',
  product: 'mysql',
  commit: 'c'.repeat(40),
  actor: 'user:default/ana',
  findings: [
    {
      code: 'parameter.removed',
      breaking: true,
      subject: 'highAvailability',
      message: 'parameter highAvailability is removed',
    },
  ],
  affected: {
    resources: [
      {
        ref: 'resource:payments/ledger-db',
        project: 'payments',
        owner: 'group:default/payments',
        findings: ['parameter.removed'],
      },
      {
        ref: 'resource:orders/orders-db',
        project: 'orders',
        owner: 'group:default/orders',
        findings: ['parameter.removed'],
      },
    ],
    projects: ['orders', 'payments'],
    components: [],
    owners: ['group:default/orders', 'group:default/payments'],
  },
  guide:
    '# Migration guide: product mysql\n\n## Steps\n\n1. Take `highAvailability` out of each affected resource.\n',
  createdAt: '2026-12-07T10:00:00.000Z',
  notifiedAt: '2026-12-07T10:00:01.000Z',
};

describe('DefinitionChangesPage', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  beforeEach(() => {
    server.use(
      http.get(`${base}/definition-changes`, () =>
        reply('DefinitionChangeList', { items: [change] }),
      ),
      http.get(`${base}/products`, () =>
        reply('ProductList', {
          items: [
            {
              id: 'mysql',
              source: 'state-repo',
              ...builtinProducts.mysql,
              deprecatedVersions: { '8.0': { removalDate: '2027-06-30' } },
            },
            { id: 'redis', source: 'builtin', ...builtinProducts.redis },
          ] as Schemas['Product'][],
        }),
      ),
      http.get(`${base}/products/mysql/usage`, () =>
        reply('ProductUsage', {
          product: 'mysql',
          deprecatedVersions: { '8.0': { removalDate: '2027-06-30' } },
          resources: [
            {
              ref: 'resource:orders/orders-db',
              project: 'orders',
              owner: 'group:default/orders',
              tier: 'medium',
              version: '8.0',
              deprecatedVersion: true,
            },
            {
              ref: 'resource:payments/ledger-db',
              project: 'payments',
              owner: 'group:default/payments',
              tier: 'medium',
              version: '8.4',
              deprecatedVersion: false,
            },
          ],
          owners: ['group:default/orders', 'group:default/payments'],
          projects: ['orders', 'payments'],
        }),
      ),
    );
  });

  it('lists breaking changes with whom they affect, and shows a migration guide', async () => {
    renderInTestApp(<DefinitionChangesPage />, {
      features: [controlPlanePlugin],
    });
    const table = await screen.findByRole('table', {
      name: 'Breaking changes of definitions',
    });
    const row = within(table).getByRole('row', { name: /mysql/ });
    expect(
      within(row).getByText('parameter.removed highAvailability'),
    ).toBeInTheDocument();
    expect(
      within(row).getByText('2 resources in orders, payments'),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('region', { name: 'Migration guide' }),
    ).toBeNull();
    await userEvent.click(
      within(row).getByRole('button', { name: /Migration guide of mysql/ }),
    );
    const guide = screen.getByRole('region', { name: 'Migration guide' });
    expect(
      within(guide).getByRole('heading', {
        name: 'Migration guide: product mysql',
      }),
    ).toBeInTheDocument();
  });

  it('lists deprecated versions with who still uses them', async () => {
    renderInTestApp(<DefinitionChangesPage />, {
      features: [controlPlanePlugin],
    });
    const table = await screen.findByRole('table', { name: 'Deprecations' });
    const row = within(table).getByRole('row', { name: 'mysql 8.0' });
    expect(within(row).getByText('2027-06-30')).toBeInTheDocument();
    expect(
      within(row).getByText('resource:orders/orders-db (group:default/orders)'),
    ).toBeInTheDocument();
  });
});
