import '@testing-library/jest-dom';
import { registerMswTestHooks } from '@backstage/frontend-test-utils';
import { screen } from '@testing-library/react';
import { setupServer } from 'msw/node';
import { resource } from '../../__testUtils__/fixtures';
import {
  infrastructureBackend,
  renderInfrastructure as render,
} from '../../__testUtils__/infrastructure';

jest.setTimeout(30_000);

describe('EntityInfrastructureContent: delivery by a GitOps tool', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  const { backend } = infrastructureBackend(server);

  it("shows what Argo CD reports of a resource's cluster, out of sync and held by a rollout", async () => {
    const shop = resource('shop', { product: 'webapp' });
    backend([
      {
        ...shop,
        status: {
          ...shop.status,
          delivery: {
            tool: 'argocd',
            application: 'idp-cluster-us-1',
            sync: 'OutOfSync',
            health: 'Healthy',
            inSync: false,
            held: true,
            message: 'Deployment default/shop is OutOfSync',
          },
        },
      },
    ]);
    render();
    expect(await screen.findByLabelText('Delivery: Argo CD')).toHaveTextContent(
      'Argo CD idp-cluster-us-1: OutOfSync, Healthy (auto-sync held by a rollout) · Deployment default/shop is OutOfSync',
    );
  });

  it('shows nothing where no GitOps tool delivers the cluster', async () => {
    backend([resource('orders-db')]);
    render();
    await screen.findByText(/resource:default\/orders-db · owner/);
    expect(screen.queryByLabelText(/^Delivery:/)).not.toBeInTheDocument();
  });
});
