import '@testing-library/jest-dom';
import { Entity } from '@backstage/catalog-model';
import { discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  MockFetchApi,
  registerMswTestHooks,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/test-utils';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { screen } from '@testing-library/react';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { Route, Routes } from 'react-router-dom';
import { ControlPlaneClient, controlPlaneApiRef } from './api';
import { reply, replyError } from './__testUtils__/msw';
import { provider, resource } from './__testUtils__/fixtures';
import {
  ControlPlaneFleetPage,
  ControlPlaneSelfServicePage,
  EntityControlPlaneContent,
} from './legacy';

const base = 'http://localhost:7007/api/control-plane';

/** An app on the old frontend system: its own API holder, no route resolution API. */
function LegacyApis(props: { children: JSX.Element; templates?: Entity[] }) {
  const discoveryApi = {
    getBaseUrl: async (id: string) => `http://localhost:7007/api/${id}`,
  };
  const fetchApi = new MockFetchApi();
  return (
    <TestApiProvider
      apis={[
        [discoveryApiRef, discoveryApi],
        [fetchApiRef, fetchApi],
        [
          controlPlaneApiRef,
          new ControlPlaneClient({ discoveryApi, fetchApi }),
        ],
        [catalogApiRef, catalogApiMock({ entities: props.templates ?? [] })],
        [
          permissionApiRef,
          { authorize: async () => ({ result: AuthorizeResult.ALLOW }) },
        ],
      ]}
    >
      {props.children}
    </TestApiProvider>
  );
}

/** A page of the old system is mounted on a route of the app's element tree. */
const mounted = (path: string, page: JSX.Element) => (
  <Routes>
    <Route path={`${path}/*`} element={page} />
  </Routes>
);

describe('the legacy export (old frontend system)', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  it('renders the Fleet page', async () => {
    server.use(
      http.get(`${base}/providers`, () =>
        reply('ProviderList', {
          items: [provider('aws', { displayName: 'Amazon Web Services' })],
        }),
      ),
      http.get(`${base}/cells`, () => reply('CellList', { items: [] })),
      http.get(`${base}/clusters`, () => reply('ClusterList', { items: [] })),
    );
    await renderInTestApp(
      <LegacyApis>
        {mounted('/control-plane/fleet', <ControlPlaneFleetPage />)}
      </LegacyApis>,
      { routeEntries: ['/control-plane/fleet'] },
    );
    expect(
      await screen.findByRole('row', { name: 'Amazon Web Services' }),
    ).toBeInTheDocument();
    expect(screen.getByText('aws is simulated')).toBeInTheDocument();
  });

  it("links Request to the scaffolder's documented path", async () => {
    server.use(
      http.get(`${base}/products`, () =>
        reply('ProductList', {
          items: [
            {
              id: 'redis',
              title: 'Redis',
              description: 'A cache',
              category: 'cache',
              source: 'builtin',
              tiers: ['low'],
              operations: [],
              dependsOn: [],
              features: {},
              waivedFeatures: {},
              sizes: {},
              parameters: { type: 'object' },
            },
          ],
        }),
      ),
      http.get(`${base}/tiers`, () => reply('TierList', { items: [] })),
      http.post(`${base}/cost/estimate`, () =>
        reply('CostEstimate', {
          currency: 'USD',
          product: 'redis',
          tier: 'low',
          params: {},
          estimates: [],
        }),
      ),
    );
    const templates: Entity[] = [
      {
        apiVersion: 'scaffolder.backstage.io/v1beta3',
        kind: 'Template',
        metadata: {
          name: 'request-redis-cache',
          namespace: 'default',
          title: 'Request a Redis cache',
          annotations: { 'idp.multicloud/products': 'redis' },
        },
        spec: { parameters: [{ properties: { tier: { type: 'string' } } }] },
      },
    ];
    await renderInTestApp(
      <LegacyApis templates={templates}>
        {mounted(
          '/control-plane/self-service',
          <ControlPlaneSelfServicePage />,
        )}
      </LegacyApis>,
      { routeEntries: ['/control-plane/self-service'] },
    );
    expect(
      await screen.findByRole('link', { name: 'Request Redis' }),
    ).toHaveAttribute(
      'href',
      `/create/templates/default/request-redis-cache?formData=${encodeURIComponent(
        '{"tier":"low"}',
      )}`,
    );
  });

  it("renders the entity's Infrastructure content", async () => {
    server.use(
      http.get(`${base}/resources`, () =>
        reply('ResourcePage', { items: [resource('orders-db')] }),
      ),
      // Its details are not what this test is about.
      http.all(`${base}/*`, () => replyError(404, 'NotFoundError', 'not here')),
    );
    await renderInTestApp(
      <LegacyApis>
        <EntityProvider
          entity={{
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'Component',
            metadata: { name: 'checkout', namespace: 'default' },
          }}
        >
          <EntityControlPlaneContent />
        </EntityProvider>
      </LegacyApis>,
    );
    expect(
      await screen.findByRole('row', { name: 'orders-db' }),
    ).toBeInTheDocument();
  });
});
