/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/**
 * The fleet calls: the catalog of products, tiers, cells, providers, clusters, quotas and
 * policies, and a reconciler pass on demand.
 */
export function fleetCalls(
  t: Transport,
): Pick<IdpClient, 'catalog' | 'reconciler'> {
  const { api, apiBase, call, key } = t;
  return {
    reconciler: {
      run: async (body = { drift: false }, o) =>
        call(
          api.POST('/reconciler/run', {
            baseUrl: await apiBase(),
            body,
            headers: key(o),
          }),
        ),
    },
    catalog: {
      products: async () =>
        (await call(api.GET('/products', { baseUrl: await apiBase() }))).items,
      product: async id =>
        call(
          api.GET('/products/{id}', {
            baseUrl: await apiBase(),
            params: { path: { id } },
          }),
        ),
      tiers: async () =>
        (await call(api.GET('/tiers', { baseUrl: await apiBase() }))).items,
      cells: async () =>
        (await call(api.GET('/cells', { baseUrl: await apiBase() }))).items,
      providers: async () =>
        (await call(api.GET('/providers', { baseUrl: await apiBase() }))).items,
      clusters: async () =>
        (await call(api.GET('/clusters', { baseUrl: await apiBase() }))).items,
      quotas: async () =>
        (await call(api.GET('/quotas', { baseUrl: await apiBase() }))).items,
      quotaUsage: async () =>
        (await call(api.GET('/quotas/usage', { baseUrl: await apiBase() })))
          .items,
      policies: async () =>
        (await call(api.GET('/policies', { baseUrl: await apiBase() }))).items,
    },
  };
}
