import { Entity } from '@backstage/catalog-model';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { http, HttpResponse } from 'msw';
import { SetupServer } from 'msw/node';
import { SWRConfig } from 'swr';
import { EntityInfrastructureContent } from '../components/EntityInfrastructureContent/EntityInfrastructureContent';
import { controlPlanePlugin } from '../plugin';
import { createOperation, eventStream, provider, resource } from './fixtures';
import { reply, replyError } from './msw';

/** A component and (below) a group, whose Infrastructure tab the tests show. */
export const component: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'checkout', namespace: 'default' },
  spec: {
    type: 'service',
    owner: 'group:default/team-a',
    lifecycle: 'production',
  },
};
export const group: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name: 'team-a', namespace: 'default' },
  spec: { type: 'team', children: [] },
};

/** Where the control plane answers. */
export const base = '*/api/control-plane';

/**
 * The control plane behind the Infrastructure tab, on `server`: `backend(items)` answers
 * with these resources (optional endpoints answer 404 unless a test overrides them), and
 * `listQueries` records the query of every resource listing.
 */
export function infrastructureBackend(server: SetupServer) {
  const listQueries: URLSearchParams[] = [];

  /** A backend with these resources; optional endpoints answer 404 unless overridden. */
  function backend(
    items = [
      resource('orders-db'),
      resource('cache', {
        product: 'redis',
        dependsOn: ['resource:default/orders-db'],
      }),
    ],
  ) {
    listQueries.length = 0;
    server.use(
      http.get(`${base}/resources`, ({ request }) => {
        listQueries.push(new URL(request.url).searchParams);
        return reply('ResourcePage', { items });
      }),
      http.get(`${base}/products`, () => reply('ProductList', { items: [] })),
      http.get(`${base}/providers`, () =>
        reply('ProviderList', { items: [provider('aws')] }),
      ),
      http.get(
        `${base}/resources/:ns/:name/events`,
        () =>
          new HttpResponse(eventStream([]), {
            headers: { 'content-type': 'text/event-stream' },
          }),
      ),
      http.get(`${base}/resources/:ns/:name/operations`, () =>
        reply('OperationList', { items: [createOperation] }),
      ),
      http.get(`${base}/operations/:id`, () =>
        reply('Operation', createOperation),
      ),
      http.get(`${base}/resources/:ns/:name/history`, ({ params }) =>
        reply('ResourceHistory', {
          ref: `resource:default/${params.name}`,
          transitions: [
            {
              to: 'PENDING',
              at: '2026-11-01T10:00:00.000Z',
              actor: 'user:default/alice',
              reason: 'created',
            },
            {
              from: 'PENDING',
              to: 'PROVISIONING',
              at: '2026-11-01T10:00:01.000Z',
              actor: 'control-plane',
              reason: 'scheduled',
            },
            {
              from: 'PROVISIONING',
              to: 'READY',
              at: '2026-11-01T10:05:00.000Z',
              actor: 'control-plane',
              reason: 'claim ready',
            },
          ],
        }),
      ),
      http.get(`${base}/resources/:ns/:name/placement`, () =>
        replyError(404, 'NotFoundError', 'no route'),
      ),
      http.get(`${base}/resources/:ns/:name/cost`, () =>
        replyError(404, 'NotFoundError', 'no route'),
      ),
      http.get(`${base}/quotas/usage`, () =>
        replyError(404, 'NotFoundError', 'no route'),
      ),
      http.get(`${base}/resources/:ns/:name/deployments`, () =>
        reply('DeploymentList', { items: [] }),
      ),
      http.get(`${base}/versions`, () => reply('VersionList', { items: [] })),
      http.get(`${base}/changes`, () => reply('ChangeList', { items: [] })),
      http.get(`${base}/resources/:ns/:name`, ({ params }) => {
        const found = items.find(
          r =>
            r.metadata.name === params.name &&
            r.metadata.namespace === params.ns,
        );
        return found
          ? reply('Resource', found)
          : replyError(404, 'NotFoundError', 'no such resource');
      }),
    );
  }

  return { backend, listQueries };
}

/** Renders the Infrastructure tab of `entity`, the permission policy deciding with `authorize`. */
export const renderInfrastructure = (
  entity: Entity = component,
  authorize: (
    name: string,
  ) => AuthorizeResult.ALLOW | AuthorizeResult.DENY = () =>
    AuthorizeResult.ALLOW,
) =>
  renderInTestApp(
    // usePermission caches decisions in SWR: a fresh cache per test
    <SWRConfig value={{ provider: () => new Map() }}>
      <EntityProvider entity={entity}>
        <EntityInfrastructureContent />
      </EntityProvider>
    </SWRConfig>,
    {
      features: [controlPlanePlugin],
      apis: [
        mockApis.permission({
          authorize: req => authorize(req.permission.name),
        }),
      ],
    },
  );
