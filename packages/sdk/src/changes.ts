/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/** The changes of the state repository: a resource's history, and rollback by revert. */
export function changeCalls(t: Transport): IdpClient['changes'] {
  const { api, apiBase, call, key } = t;
  return {
    propose: async (yaml, o) =>
      call(
        api.POST('/changes/proposals', {
          baseUrl: await apiBase(),
          body: {
            yaml,
            prune: o?.prune ?? false,
            acknowledgeBreaking: o?.acknowledgeBreaking ?? false,
          },
          headers: key(o),
        }),
      ),
    proposal: async id =>
      call(
        api.GET('/changes/proposals/{id}', {
          baseUrl: await apiBase(),
          params: { path: { id } },
        }),
      ),
    list: async (resource, o) =>
      call(
        api.GET('/changes', {
          baseUrl: await apiBase(),
          params: { query: { resource, limit: o?.limit ?? 100 } },
        }),
      ),
    proposeRevert: async (sha, o) =>
      call(
        api.POST('/changes/{sha}/revert/proposal', {
          baseUrl: await apiBase(),
          params: { path: { sha } },
          headers: key(o),
        }),
      ),
    revert: async (sha, o) =>
      call(
        api.POST('/changes/{sha}/revert', {
          baseUrl: await apiBase(),
          params: { path: { sha } },
          headers: key(o),
        }),
      ),
  };
}
