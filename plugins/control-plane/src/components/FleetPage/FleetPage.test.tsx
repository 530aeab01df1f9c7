import '@testing-library/jest-dom';
import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { Schemas } from '@idp-multicloud/sdk';
import { screen, within } from '@testing-library/react';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { controlPlanePlugin } from '../../plugin';
import { cluster, provider } from '../../__testUtils__/fixtures';
import { reply, replyError } from '../../__testUtils__/msw';
import { FleetPage } from './FleetPage';

const base = '*/api/control-plane';

describe('FleetPage', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  const fleet = (
    clusters: Schemas['Cluster'][] = [],
    providers: Schemas['Provider'][] = [
      provider('aws', {
        displayName: 'Amazon Web Services',
        health: {
          score: 0.97,
          calls: 120,
          failures: 1,
          errorRate: 0.01,
          latencyMs: 8.2,
        },
      }),
      provider('gcp', {
        displayName: 'Google Cloud',
        kind: 'gcp',
        health: {
          score: 0.31,
          breaker: 'open',
          calls: 40,
          failures: 20,
          errorRate: 0.5,
          latencyMs: 2300,
          reason: '5 consecutive failures',
        },
      }),
      provider('onprem', {
        displayName: 'On premises',
        kind: 'onprem',
        driver: 'kubernetes',
      }),
    ],
  ) =>
    server.use(
      http.get(`${base}/cells`, () =>
        reply('CellList', {
          items: [
            {
              id: 'cell-eu',
              displayName: 'Europe',
              geo: 'eu',
              dataResidency: 'EU',
              providers: ['aws', 'gcp'],
            },
          ],
        }),
      ),
      http.get(`${base}/providers`, () =>
        reply('ProviderList', { items: providers }),
      ),
      http.get(`${base}/clusters`, () =>
        reply('ClusterList', { items: clusters }),
      ),
    );

  it('shows each provider with its health score, latency and circuit breaker', async () => {
    fleet();
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const gcp = await screen.findByRole('row', { name: 'Google Cloud' });
    expect(
      within(gcp).getByText('open (placements avoid it)'),
    ).toBeInTheDocument();
    expect(within(gcp).getByText('5 consecutive failures')).toBeInTheDocument();
    expect(
      within(gcp).getByText(
        '31% · error rate 50.0% · mean latency 2300 ms · 40 calls',
      ),
    ).toBeInTheDocument();
    const aws = screen.getByRole('row', { name: 'Amazon Web Services' });
    expect(within(aws).getByText('closed (healthy)')).toBeInTheDocument();
    expect(
      within(aws).getByText(
        '97% · error rate 1.0% · mean latency 8 ms · 120 calls',
      ),
    ).toBeInTheDocument();
    const onprem = screen.getByRole('row', { name: 'On premises' });
    expect(
      within(onprem).getByText(
        'no driver calls yet: scored 100% until there are',
      ),
    ).toBeInTheDocument();
    // cells
    const eu = screen.getByRole('row', { name: 'Europe' });
    expect(within(eu).getByText('aws, gcp')).toBeInTheDocument();
  });

  it('says plainly which providers are simulated, and which are not', async () => {
    fleet([cluster('aws-us-east-1'), cluster('dc-1', { provider: 'onprem' })]);
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const note = await screen.findByRole('note', {
      name: 'Simulated providers',
    });
    expect(within(note).getByText('aws and gcp are simulated')).toBeVisible();
    expect(
      within(note).getByText(/Nothing is provisioned in a real cloud/),
    ).toBeVisible();
    const aws = screen.getByRole('row', { name: 'Amazon Web Services' });
    expect(
      within(aws).getByText(/a simulator, not a real cloud/),
    ).toBeInTheDocument();
    const onprem = screen.getByRole('row', { name: 'On premises' });
    expect(within(onprem).getByText('kubernetes')).toBeInTheDocument();
    expect(
      within(
        await screen.findByRole('row', { name: 'aws-us-east-1' }),
      ).getByText('aws (simulated)'),
    ).toBeInTheDocument();
    expect(
      within(screen.getByRole('row', { name: 'dc-1' })).getByText('onprem'),
    ).toBeInTheDocument();
  });

  it('shows no simulator notice when every provider has a real driver', async () => {
    fleet([], [provider('aws', { displayName: 'AWS', driver: 'kubernetes' })]);
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    await screen.findByRole('row', { name: 'AWS' });
    expect(screen.queryByRole('note')).not.toBeInTheDocument();
  });

  it('shows clusters with lifecycle, what is placed on them and how full they are', async () => {
    fleet([
      cluster('aws-eu-1', {
        cell: 'cell-eu',
        region: 'eu-west-1',
        lifecycle: 'draining',
        capacity: { cpu: 64, memoryGi: 256, storageGi: 1000, maxResources: 50 },
        usage: {
          resources: 3,
          cpu: 6,
          memoryGi: 24,
          storageGi: 600,
          utilization: 0.6,
        },
      }),
    ]);
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const row = await screen.findByRole('row', { name: 'aws-eu-1' });
    expect(within(row).getByLabelText('State: draining')).toBeInTheDocument();
    expect(within(row).getByText('3 of 50')).toBeInTheDocument();
    expect(within(row).getByText('60%')).toBeInTheDocument();
    expect(
      within(row).getByRole('meter', { name: 'Utilisation of aws-eu-1' }),
    ).toHaveAttribute('value', '0.6');
    expect(
      within(row).getByText(
        'CPU 6 of 64, memory 24 GiB of 256 GiB, storage 600 GiB of 1000 GiB',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/The control plane keeps no health per cluster/),
    ).toBeInTheDocument();
  });

  it('says how to add clusters when the fleet has none', async () => {
    fleet([]);
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    expect(await screen.findByText('No clusters')).toBeInTheDocument();
    expect(
      screen.getByText(/Declare clusters in clusters\//),
    ).toBeInTheDocument();
  });

  it('shows why the fleet cannot be read', async () => {
    fleet();
    server.use(
      http.get(`${base}/clusters`, () =>
        replyError(403, 'NotAllowedError', 'you may not read the fleet'),
      ),
    );
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    expect(
      await screen.findByText(/Could not load clusters/),
    ).toBeInTheDocument();
    expect(
      screen.getAllByText(/you may not read the fleet/)[0],
    ).toBeInTheDocument();
  });
});
