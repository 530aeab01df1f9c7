/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/** The governance calls: cost estimates and chargeback, placement experiments, feature flags. */
export function governanceCalls(
  t: Transport,
): Pick<IdpClient, 'cost' | 'experiments' | 'flags'> {
  const { api, apiBase, call, key } = t;
  return {
    cost: {
      estimate: async body =>
        call(api.POST('/cost/estimate', { baseUrl: await apiBase(), body })),
      chargeback: async query =>
        call(
          api.GET('/cost/chargeback', {
            baseUrl: await apiBase(),
            params: { query },
          }),
        ),
    },
    experiments: {
      list: async () =>
        (await call(api.GET('/experiments', { baseUrl: await apiBase() })))
          .items,
      get: async name =>
        call(
          api.GET('/experiments/{name}', {
            baseUrl: await apiBase(),
            params: { path: { name } },
          }),
        ),
      create: async (body, o) =>
        call(
          api.POST('/experiments', {
            baseUrl: await apiBase(),
            body,
            headers: key(o),
          }),
        ),
      stop: async (name, o) =>
        call(
          api.POST('/experiments/{name}/stop', {
            baseUrl: await apiBase(),
            params: { path: { name } },
            headers: key(o),
          }),
        ),
    },
    flags: {
      list: async () =>
        (await call(api.GET('/flags', { baseUrl: await apiBase() }))).items,
      get: async name =>
        call(
          api.GET('/flags/{name}', {
            baseUrl: await apiBase(),
            params: { path: { name } },
          }),
        ),
      set: async (name, body, o) =>
        call(
          api.PUT('/flags/{name}', {
            baseUrl: await apiBase(),
            params: { path: { name } },
            body,
            headers: key(o),
          }),
        ),
      unset: async (name, scope, o) =>
        call(
          api.DELETE('/flags/{name}', {
            baseUrl: await apiBase(),
            params: { path: { name }, query: scope ?? {} },
            headers: key(o),
          }),
        ),
    },
  };
}
