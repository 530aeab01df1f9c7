import '@testing-library/jest-dom';
import { registerMswTestHooks } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { reply, replyError } from '../../__testUtils__/msw';
import {
  createOperation,
  eventStream,
  resource,
} from '../../__testUtils__/fixtures';
import {
  base,
  component,
  group,
  infrastructureBackend,
  renderInfrastructure as render,
} from '../../__testUtils__/infrastructure';

describe('EntityInfrastructureContent', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  const { backend, listQueries } = infrastructureBackend(server);

  const resourceRow = async (name: string) =>
    screen.findByRole('row', { name });

  it("lists a component's resources with product, tier, cell, placement and state", async () => {
    backend();
    render();
    const row = await resourceRow('orders-db');
    expect(within(row).getByText('mysql')).toBeInTheDocument();
    expect(within(row).getByText('high')).toBeInTheDocument();
    expect(within(row).getByText('cell-us')).toBeInTheDocument();
    expect(within(row).getByText('aws / aws-us-1')).toBeInTheDocument();
    expect(
      await within(row).findByText('simulated: not a real cloud'),
    ).toBeInTheDocument();
    expect(within(row).getByLabelText('State: READY')).toBeInTheDocument();
    expect(listQueries[0].get('component')).toBe('component:default/checkout');
    // the dependency graph, as a list
    expect(
      within(screen.getByRole('list', { name: 'Dependencies' })).getByText(
        'cache depends on orders-db',
      ),
    ).toBeInTheDocument();
  });

  it('updates the state when an event arrives on the stream', async () => {
    backend([
      resource('orders-db', { state: 'PROVISIONING', placement: undefined }),
    ]);
    server.use(
      http.get(`${base}/resources/default/orders-db/events`, ({ request }) =>
        request.headers.get('last-event-id') === '0'
          ? new HttpResponse(
              eventStream([
                {
                  id: 7,
                  ref: 'resource:default/orders-db',
                  type: 'state.changed',
                  state: 'READY',
                  at: '2026-11-01T10:05:00.000Z',
                  message: 'PROVISIONING → READY: claim ready',
                },
              ]),
              { headers: { 'content-type': 'text/event-stream' } },
            )
          : new HttpResponse(eventStream([]), {
              headers: { 'content-type': 'text/event-stream' },
            }),
      ),
    );
    render();
    const row = await resourceRow('orders-db');
    expect(
      within(row).getByLabelText('State: PROVISIONING'),
    ).toBeInTheDocument();
    expect(
      await within(row).findByLabelText('State: READY'),
    ).toBeInTheDocument();
    expect(
      within(row).getByText('PROVISIONING → READY: claim ready'),
    ).toBeInTheDocument();
  });

  it('offers no delete action to a user the policy denies it', async () => {
    backend();
    render(component, name =>
      name === 'control-plane.resource.delete'
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW,
    );
    await resourceRow('orders-db');
    expect(
      await screen.findByRole('button', { name: 'Run operation' }),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Delete' }),
    ).not.toBeInTheDocument();
  });

  it('explains that nothing can be done when every action is denied', async () => {
    backend();
    render(component, () => AuthorizeResult.DENY);
    expect(
      await screen.findByText(/You may look at orders-db but not act on it/),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Delete' }),
    ).not.toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Run operation' }),
    ).not.toBeInTheDocument();
  });

  it('asks before deleting, then shows the outcome', async () => {
    backend();
    const deleted: string[] = [];
    server.use(
      http.delete(`${base}/resources/:ns/:name`, ({ params }) => {
        deleted.push(`${params.ns}/${params.name}`);
        return reply(
          'DeleteResourceResponse',
          { commit: 'abc123', deleting: ['resource:default/orders-db'] },
          { status: 202 },
        );
      }),
    );
    render();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Delete' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('Delete orders-db?')).toBeInTheDocument();
    expect(deleted).toEqual([]);
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Delete' }),
    );
    expect(
      await screen.findByText('Deletion accepted: default/orders-db'),
    ).toBeInTheDocument();
    expect(deleted).toEqual(['default/orders-db']);
  });

  it('does nothing when the user backs out of the confirmation', async () => {
    backend();
    const deleted: string[] = [];
    server.use(
      http.delete(`${base}/resources/:ns/:name`, ({ params }) => {
        deleted.push(String(params.name));
        return reply(
          'DeleteResourceResponse',
          { commit: 'x', deleting: [] },
          { status: 202 },
        );
      }),
    );
    render();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Delete' }),
    );
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Back',
      }),
    );
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(deleted).toEqual([]);
  });

  it("shows the server's refusal when an operation is not allowed after all", async () => {
    backend();
    server.use(
      http.post(`${base}/resources/:ns/:name/operations`, () =>
        replyError(403, 'NotAllowedError', 'tier critical needs approval'),
      ),
    );
    render();
    await userEvent.selectOptions(
      await screen.findByRole('combobox', { name: /Operation/ }),
      'backup',
    );
    await userEvent.click(
      screen.getByRole('button', { name: 'Run operation' }),
    );
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Run backup' }),
    );
    expect(
      await screen.findByText(
        /Run backup on orders-db\? failed: .*tier critical needs approval/,
      ),
    ).toBeInTheDocument();
  });

  it('shows who started each operation and, on demand, its steps and retries', async () => {
    backend();
    render();
    const ops = await screen.findByRole('table', { name: 'Operations' });
    const row = await within(ops).findByRole('row', { name: /create/ });
    expect(within(row).getByText('user:default/alice')).toBeInTheDocument();
    // It succeeded: why it was started is no problem.
    expect(
      within(row).queryByText(/requested in commit/),
    ).not.toBeInTheDocument();
    await userEvent.click(
      within(row).getByRole('button', { name: 'Show steps' }),
    );
    const steps = await screen.findByRole('table', { name: 'Steps of create' });
    const claim = within(steps).getByRole('row', { name: /apply_claim/ });
    expect(within(claim).getByText('2 retries')).toBeInTheDocument();
    expect(
      screen.getByText(/provider timed out, retrying/),
    ).toBeInTheDocument();
  });

  it('says what to do when an opened operation is gone, and reloads the operations', async () => {
    backend();
    let listed = 0;
    server.use(
      http.get(`${base}/resources/:ns/:name/operations`, () => {
        listed += 1;
        return reply('OperationList', {
          items: listed === 1 ? [createOperation] : [],
        });
      }),
      http.get(`${base}/operations/:id`, () =>
        replyError(404, 'NotFoundError', 'no such operation'),
      ),
    );
    render();
    const ops = await screen.findByRole('table', { name: 'Operations' });
    await userEvent.click(
      within(ops).getByRole('button', { name: 'Show steps' }),
    );
    expect(await screen.findByText('Operation not found')).toBeInTheDocument();
    expect(
      screen.getByText(
        /Reload the operations to see the resource's current ones/,
      ),
    ).toBeInTheDocument();
    await userEvent.click(
      screen.getByRole('button', { name: 'Reload operations' }),
    );
    expect(await screen.findByText('No operations yet')).toBeInTheDocument();
    expect(screen.queryByText('Operation not found')).not.toBeInTheDocument();
  });

  it('says what to look at when a resource has no history yet', async () => {
    backend();
    server.use(
      http.get(`${base}/resources/:ns/:name/history`, () =>
        reply('ResourceHistory', {
          ref: 'resource:default/orders-db',
          transitions: [],
        }),
      ),
    );
    render();
    expect(await screen.findByText('No history yet')).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'Control Plane page' }),
    ).toHaveAttribute('href', '/control-plane');
  });

  it('shows the state history: every transition of the resource', async () => {
    backend();
    render();
    expect(
      await screen.findByRole('heading', { name: 'State history' }),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('heading', { name: 'Version history' }),
    ).not.toBeInTheDocument();
    const history = await screen.findByRole('table', { name: 'History' });
    expect(within(history).getByText('claim ready')).toBeInTheDocument();
  });

  it('says placement, cost and quotas are not available yet when the backend lacks them', async () => {
    backend();
    render();
    expect(
      await screen.findByText('No placement explanation'),
    ).toBeInTheDocument();
    expect(await screen.findByText('No cost data')).toBeInTheDocument();
    expect(
      await screen.findByText(/does not report quota usage yet/),
    ).toBeInTheDocument();
  });

  it('explains the placement and shows cost against budget and quota usage', async () => {
    backend();
    server.use(
      http.get(`${base}/resources/:ns/:name/placement`, () =>
        reply('PlacementDecision', {
          outcome: 'placed',
          resourceRef: 'resource:default/orders-db',
          decidedAt: '2026-11-01T10:00:02.000Z',
          durationMs: 12,
          explanation:
            'aws-us-1 scored highest: healthiest provider, lowest cost',
          selected: {
            cluster: 'aws-us-1',
            provider: 'aws',
            cell: 'cell-us',
            region: 'us-east-1',
            zones: ['a', 'b'],
          },
          candidates: [
            { cluster: 'aws-us-1', provider: 'aws', rejected: [], total: 0.91 },
            {
              cluster: 'gcp-us-1',
              provider: 'gcp',
              rejected: [{ filter: 'circuit-breaker', reason: 'breaker open' }],
            },
          ],
          weights: { health: 0.4, cost: 0.3 },
        }),
      ),
      http.get(`${base}/resources/:ns/:name/cost`, () =>
        reply('ResourceCost', {
          ref: 'resource:default/orders-db',
          provider: 'aws',
          currency: 'USD',
          monthlyEstimate: 120,
          monthToDate: 40,
          budget: { quota: 'team-a', limit: 1000, used: 850 },
        }),
      ),
      http.get(`${base}/quotas/usage`, () =>
        reply('QuotaUsageList', {
          items: [
            {
              id: 'team-a',
              scope: { kind: 'team', name: 'group:default/team-a' },
              limits: { maxInstances: 10 },
              usage: { instances: 4, storageGi: 100, monthlyCost: 850 },
            },
            {
              id: 'other',
              scope: { kind: 'team', name: 'group:default/team-b' },
              limits: { maxInstances: 3 },
              usage: { instances: 1, storageGi: 0, monthlyCost: 0 },
            },
          ],
        }),
      ),
    );
    render();
    expect(
      await screen.findByText(
        'aws-us-1 scored highest: healthiest provider, lowest cost',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('circuit-breaker: breaker open'),
    ).toBeInTheDocument();
    expect(await screen.findByText('$40.00')).toBeInTheDocument();
    expect(
      screen.getByText(/Budget team-a: \$850.00 of \$1,000.00 \(85%\)/),
    ).toBeInTheDocument();
    expect(
      await screen.findByText(/Instances \(team-a\): 4 of 10 \(40%\)/),
    ).toBeInTheDocument();
    expect(screen.queryByText(/Instances \(other\)/)).not.toBeInTheDocument();
  });

  it("lists a group's resources by owner and says what to do when there are none", async () => {
    backend([]);
    render(group);
    expect(
      await screen.findByText('No infrastructure for team-a yet'),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'Open the self-service catalog' }),
    ).toBeInTheDocument();
    expect(listQueries[0].get('owner')).toBe('group:default/team-a');
  });

  it('shows the error when the resources cannot be read', async () => {
    backend();
    server.use(
      http.get(`${base}/resources`, () =>
        replyError(403, 'NotAllowedError', 'not allowed to read resources'),
      ),
    );
    render();
    expect(
      await screen.findByText(/Could not load resources/),
    ).toBeInTheDocument();
    expect(
      screen.getAllByText(/not allowed to read resources/)[0],
    ).toBeInTheDocument();
  });

  it('calls no placement simulated when the user may not read the fleet', async () => {
    backend();
    const fleetReads: string[] = [];
    server.use(
      http.get(`${base}/providers`, () => {
        fleetReads.push('providers');
        return replyError(403, 'NotAllowedError', 'fleet.read denied');
      }),
    );
    render();
    const row = await resourceRow('orders-db');
    await waitFor(() => expect(fleetReads).toEqual(['providers']));
    expect(within(row).getByText('aws / aws-us-1')).toBeInTheDocument();
    expect(within(row).queryByText(/simulated/)).not.toBeInTheDocument();
  });
});
