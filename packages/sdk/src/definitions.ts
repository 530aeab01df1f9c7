/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/** Product definitions as they change: breaking changes applied, and who uses what. */
export function definitionCalls(t: Transport): IdpClient['definitions'] {
  const { api, apiBase, call } = t;
  return {
    changes: async query =>
      (
        await call(
          api.GET('/definition-changes', {
            baseUrl: await apiBase(),
            params: {
              query: { limit: query?.limit ?? 50, product: query?.product },
            },
          }),
        )
      ).items,
    change: async id =>
      call(
        api.GET('/definition-changes/{id}', {
          baseUrl: await apiBase(),
          params: { path: { id } },
        }),
      ),
    usage: async product =>
      call(
        api.GET('/products/{id}/usage', {
          baseUrl: await apiBase(),
          params: { path: { id: product } },
        }),
      ),
  };
}
