import '@testing-library/jest-dom';
import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { Schemas } from '@idp-multicloud/sdk';
import { fireEvent, screen, within } from '@testing-library/react';
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
      // a managed cluster's health over the last day, as the page asks for it
      http.get(`${base}/clusters/:name/health`, ({ params }) => {
        const found = clusters.find(c => c.id === params.name);
        return found?.health
          ? reply('ClusterHealthHistory', {
              cluster: found.id,
              health: found.health,
              series: [
                { at: '2026-12-07T08:00:00Z', score: 80 },
                { at: '2026-12-07T09:00:00Z', score: 76 },
                { at: '2026-12-07T10:00:00Z', score: 72 },
              ],
            })
          : replyError(404, 'NotFoundError', `no cluster ${params.name}`);
      }),
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
      within(row).getByText('not managed: declared in Git only'),
    ).toBeInTheDocument();
  });

  const managed = cluster('eu-lab', {
    cell: 'cell-eu',
    provider: 'gcp',
    version: '1.31',
    channel: 'stable',
    maintenanceWindow: {
      days: ['sat'],
      start: '02:00',
      durationMinutes: 240,
      timeZone: 'Europe/Paris',
    },
    usage: {
      resources: 2,
      cpu: 4,
      memoryGi: 8,
      storageGi: 10,
      utilization: 0.1,
    },
    observed: {
      phase: 'Upgrading',
      controlPlaneVersion: '1.30.14',
      pools: [{ name: 'general', version: '1.30.14', nodes: 3, ready: 3 }],
      nodesReady: 3,
      nodesTotal: 3,
      conditions: [],
      certificatesExpireAt: null,
      phaseChangedAt: '2026-12-07T10:00:00Z',
      observedAt: '2026-12-07T10:00:00Z',
    },
    health: {
      score: 72,
      breakdown: [
        {
          factor: 'version',
          weight: 20,
          score: 0.1,
          detail: '1.30 reached end of life on 2025-06-28',
        },
        {
          factor: 'conditions',
          weight: 25,
          score: 1,
          detail: '3 of 3 nodes ready',
        },
      ],
    },
    operations: [
      {
        id: 'cop-1',
        cluster: 'eu-lab',
        type: 'upgrade',
        state: 'running',
        params: {},
        actor: 'user:default/ana',
        error: null,
        steps: [
          { name: 'preflight', state: 'succeeded', attempts: 1 },
          { name: 'upgrade_control_plane', state: 'running', attempts: 1 },
          { name: 'upgrade_pool:general', state: 'pending', attempts: 0 },
        ],
        createdAt: '2026-12-07T10:00:00Z',
        updatedAt: '2026-12-07T10:00:00Z',
      },
    ],
  });

  it('shows a managed cluster: phase, version under way, channel, health with its trend, and the operation running', async () => {
    fleet([managed]);
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const row = await screen.findByRole('row', { name: 'eu-lab' });
    expect(within(row).getByLabelText('State: Upgrading')).toBeInTheDocument();
    expect(within(row).getByText('1.30.14 → 1.31')).toBeInTheDocument();
    expect(within(row).getByText('3 of 3 nodes ready')).toBeInTheDocument();
    expect(within(row).getByText('stable')).toBeInTheDocument();
    expect(
      within(row).getByText('window sat 02:00 for 4 h (Europe/Paris)'),
    ).toBeInTheDocument();
    expect(within(row).getByText('72/100')).toBeInTheDocument();
    expect(
      within(row).getByText('version: 1.30 reached end of life on 2025-06-28'),
    ).toBeInTheDocument();
    expect(
      await within(row).findByRole('img', {
        name: 'Health of eu-lab over 24 hours: 80 to 72',
      }),
    ).toBeInTheDocument();
    const steps = within(row).getByRole('list', {
      name: 'Steps of upgrade of eu-lab',
    });
    expect(
      within(steps)
        .getAllByRole('listitem')
        .map(li => li.textContent),
    ).toEqual([
      '✓ preflight',
      '… upgrade_control_plane',
      '· upgrade_pool:general',
    ]);
    // an operation is running: no other action may start
    expect(within(row).getByRole('button', { name: 'Drain' })).toBeDisabled();
  });

  it('drains a cluster after asking, for those who may manage clusters', async () => {
    const idle = {
      ...managed,
      operations: [],
      observed: { ...managed.observed!, phase: 'Ready' as const },
    };
    fleet([idle]);
    let drained = false;
    server.use(
      http.post(`${base}/clusters/eu-lab/drain`, () => {
        drained = true;
        return reply(
          'ClusterAccepted',
          {
            cluster: 'eu-lab',
            commit: null,
            operation: {
              ...managed.operations![0],
              id: 'cop-2',
              type: 'drain',
            },
          },
          { status: 202 },
        );
      }),
    );
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const row = await screen.findByRole('row', { name: 'eu-lab' });
    // two resources are placed on it: it cannot be decommissioned before a drain
    expect(
      within(row).getByRole('button', { name: 'Decommission' }),
    ).toBeDisabled();
    fireEvent.click(within(row).getByRole('button', { name: 'Drain' }));
    const dialog = await screen.findByRole('dialog', { name: 'Drain eu-lab?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Drain' }));
    expect(
      await screen.findByText('Drain of eu-lab started (cop-2)'),
    ).toBeInTheDocument();
    expect(drained).toBe(true);
  });

  it('shows when the window next opens, and an upgrade waiting for it', async () => {
    fleet([
      {
        ...managed,
        nextMaintenanceWindow: '2026-12-12T01:00:00.000Z',
        observed: { ...managed.observed!, phase: 'Ready' },
        operations: [
          {
            ...managed.operations![0],
            state: 'pending',
            params: { notBefore: '2026-12-12T01:00:00.000Z' },
            steps: managed.operations![0].steps.map(st => ({
              ...st,
              state: 'pending' as const,
              attempts: 0,
            })),
          },
        ],
      },
    ]);
    server.use();
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const row = await screen.findByRole('row', { name: 'eu-lab' });
    // in the window's own time zone: 01:00 UTC is 02:00 in Paris
    expect(
      within(row).getByText('next: Sat 12 Dec, 02:00'),
    ).toBeInTheDocument();
    expect(within(row).getByText('upgrade (pending)')).toBeInTheDocument();
    expect(
      within(row).getByText('waits for its window: Sat 12 Dec, 02:00'),
    ).toBeInTheDocument();
  });

  it('returns a drained cluster to service after asking', async () => {
    const drained = {
      ...managed,
      operations: [],
      usage: { ...managed.usage, resources: 0 },
      observed: { ...managed.observed!, phase: 'Draining' as const },
    };
    fleet([drained]);
    let uncordoned = false;
    server.use(
      http.post(`${base}/clusters/eu-lab/uncordon`, () => {
        uncordoned = true;
        return reply('ClusterAccepted', { cluster: 'eu-lab', commit: null });
      }),
    );
    renderInTestApp(<FleetPage />, { features: [controlPlanePlugin] });
    const row = await screen.findByRole('row', { name: 'eu-lab' });
    // drained already: no second drain, and it may be decommissioned
    expect(
      within(row).queryByRole('button', { name: 'Drain' }),
    ).not.toBeInTheDocument();
    expect(
      within(row).getByRole('button', { name: 'Decommission' }),
    ).toBeEnabled();
    fireEvent.click(
      within(row).getByRole('button', { name: 'Return to service' }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: 'Return eu-lab to service?',
    });
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Return to service' }),
    );
    expect(
      await screen.findByText('eu-lab is back in service'),
    ).toBeInTheDocument();
    expect(uncordoned).toBe(true);
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
