/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/**
 * The state repo's calls: plan and apply manifests (YAML committed to the repo), and the
 * repo's sync status.
 */
export function gitopsCalls(
  t: Transport,
): Pick<IdpClient, 'manifests' | 'gitops'> {
  const { api, apiBase, call, key } = t;
  return {
    manifests: {
      plan: async (yaml, o) =>
        call(
          api.POST('/manifests/plan', {
            baseUrl: await apiBase(),
            body: {
              yaml,
              prune: o?.prune ?? false,
              acknowledgeBreaking: o?.acknowledgeBreaking ?? false,
            },
          }),
        ),
      apply: async (yaml, o) =>
        call(
          api.POST('/manifests/apply', {
            baseUrl: await apiBase(),
            body: {
              yaml,
              prune: o?.prune ?? false,
              acknowledgeBreaking: o?.acknowledgeBreaking ?? false,
            },
            headers: key(o),
          }),
        ),
    },
    gitops: {
      status: async () =>
        call(api.GET('/gitops/status', { baseUrl: await apiBase() })),
      sync: async () =>
        call(api.POST('/gitops/sync', { baseUrl: await apiBase() })),
    },
  };
}
