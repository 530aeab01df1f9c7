import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { screen, within } from '@testing-library/react';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { controlPlanePlugin } from '../../plugin';
import { provider } from '../../__testUtils__/fixtures';
import { reply, replyError } from '../../__testUtils__/msw';
import { ControlPlanePage } from './ControlPlanePage';

describe('ControlPlanePage', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  const render = () =>
    renderInTestApp(<ControlPlanePage />, { features: [controlPlanePlugin] });

  it('shows the health the backend reports', async () => {
    server.use(
      http.get('*/api/control-plane/providers', () =>
        replyError(403, 'NotAllowedError', 'fleet.read denied'),
      ),
    );
    server.use(
      http.get('*/api/control-plane/health', () =>
        reply('Health', {
          status: 'ok',
          database: {
            client: 'better-sqlite3',
            migrations: {
              applied: ['202611231930_createResources.js'],
              pending: [],
            },
          },
        }),
      ),
    );
    render();
    expect(
      await screen.findByText('The control plane is up'),
    ).toBeInTheDocument();
    expect(screen.getByText('better-sqlite3')).toBeInTheDocument();
    expect(
      screen.getByText('202611231930_createResources.js'),
    ).toBeInTheDocument();
    // This user may not read the fleet: nothing to say about its providers.
    expect(screen.queryByRole('note')).not.toBeInTheDocument();
  });

  it('says plainly when providers are simulated', async () => {
    server.use(
      http.get('*/api/control-plane/health', () =>
        reply('Health', {
          status: 'ok',
          database: { client: 'pg', migrations: { applied: [], pending: [] } },
        }),
      ),
      http.get('*/api/control-plane/providers', () =>
        reply('ProviderList', {
          items: [
            provider('gcp'),
            provider('aws'),
            provider('dc', { driver: 'kubernetes' }),
          ],
        }),
      ),
    );
    render();
    expect(
      within(
        await screen.findByRole('note', { name: 'Simulated providers' }),
      ).getByText('aws and gcp are simulated'),
    ).toBeInTheDocument();
  });

  it('warns when migrations are pending', async () => {
    server.use(
      http.get('*/api/control-plane/health', () =>
        reply('Health', {
          status: 'degraded',
          database: {
            client: 'pg',
            migrations: { applied: [], pending: ['x.js'] },
          },
        }),
      ),
    );
    render();
    expect(await screen.findByText(/not fully migrated/)).toBeInTheDocument();
    expect(screen.getByText(/pending: x.js/)).toBeInTheDocument();
  });

  it("shows the backend's error when the call fails", async () => {
    server.use(
      http.get('*/api/control-plane/health', () =>
        replyError(500, 'Error', 'database unreachable'),
      ),
    );
    render();
    expect(
      await screen.findByText(
        /The control plane did not answer/,
        {},
        // the client retries a 500 twice before it gives up
        { timeout: 5000 },
      ),
    ).toBeInTheDocument();
    expect(screen.getAllByText(/database unreachable/)[0]).toBeInTheDocument();
  });
});
