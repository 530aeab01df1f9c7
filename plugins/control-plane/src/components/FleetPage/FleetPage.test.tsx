import '@testing-library/jest-dom';
import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { controlPlanePlugin } from '../../plugin';
import { FleetPage } from './FleetPage';

const base = '*/api/control-plane';

describe('FleetPage', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  const fleet = (clusters: unknown[] = []) =>
    server.use(
      http.get(`${base}/cells`, () =>
        HttpResponse.json({
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
        HttpResponse.json({
          items: [
            {
              id: 'aws',
              displayName: 'Amazon Web Services',
              kind: 'aws',
              driver: 'simulated',
              health: {
                score: 0.97,
                breaker: 'closed',
                calls: 120,
                errorRate: 0.01,
                p95LatencyMs: 85,
              },
            },
            {
              id: 'gcp',
              displayName: 'Google Cloud',
              kind: 'gcp',
              driver: 'simulated',
              health: {
                score: 0.31,
                breaker: 'open',
                calls: 40,
                errorRate: 0.5,
                p95LatencyMs: 2300,
              },
            },
            {
              id: 'onprem',
              displayName: 'On premises',
              kind: 'onprem',
              driver: 'simulated',
            },
          ],
        }),
      ),
      http.get(`${base}/clusters`, () =>
        HttpResponse.json({ items: clusters }),
      ),
    );

  it('shows each provider with its health score and circuit breaker state', async () => {
    fleet();
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const gcp = await screen.findByRole('row', { name: 'Google Cloud' });
    expect(
      within(gcp).getByText('open (placements avoid it)'),
    ).toBeInTheDocument();
    expect(
      within(gcp).getByText(/31% · error rate 50.0% · p95 2300 ms/),
    ).toBeInTheDocument();
    const aws = screen.getByRole('row', { name: 'Amazon Web Services' });
    expect(within(aws).getByText('closed (healthy)')).toBeInTheDocument();
    const onprem = screen.getByRole('row', { name: 'On premises' });
    expect(within(onprem).getByText('not reported')).toBeInTheDocument();
    // cells
    const eu = screen.getByRole('row', { name: 'Europe' });
    expect(within(eu).getByText('aws, gcp')).toBeInTheDocument();
  });

  it('shows clusters with lifecycle and health, or what to do when there are none', async () => {
    fleet([
      {
        id: 'aws-eu-1',
        cell: 'cell-eu',
        provider: 'aws',
        region: 'eu-west-1',
        zones: ['a', 'b'],
        version: '1.31',
        lifecycle: 'draining',
        nodePools: [],
        capacity: { cpu: 64, memoryGi: 256, storageGi: 1000, maxResources: 50 },
        health: { score: 0.9 },
      },
    ]);
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const row = await screen.findByRole('row', { name: 'aws-eu-1' });
    expect(within(row).getByLabelText('State: draining')).toBeInTheDocument();
    expect(within(row).getByText('90%')).toBeInTheDocument();
  });

  it('says how to add clusters when the fleet has none', async () => {
    fleet([]);
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    expect(await screen.findByText('No clusters')).toBeInTheDocument();
    expect(
      screen.getByText(/Declare clusters in clusters\//),
    ).toBeInTheDocument();
  });
});
