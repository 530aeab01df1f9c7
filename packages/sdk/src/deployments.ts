/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { splitRef } from './resourceRef';
import { Transport } from './transport';

/** The deployment calls: a resource's rollouts, following one, and acting on it. */
export function deploymentCalls(t: Transport): IdpClient['deployments'] {
  const { api, apiBase, call, key } = t;
  const act =
    (
      path:
        | '/deployments/{id}/promote'
        | '/deployments/{id}/pause'
        | '/deployments/{id}/resume'
        | '/deployments/{id}/abort'
        | '/deployments/{id}/approve',
    ) =>
    async (
      id: string,
      o?: Parameters<IdpClient['deployments']['promote']>[1],
    ) =>
      call(
        api.POST(path, {
          baseUrl: await apiBase(),
          params: { path: { id } },
          body: {
            ...(o?.full ? { full: true } : {}),
            ...(o?.reason ? { reason: o.reason } : {}),
          },
          headers: key(o),
        }),
      );
  return {
    list: async ref =>
      (
        await call(
          api.GET('/resources/{namespace}/{name}/deployments', {
            baseUrl: await apiBase(),
            params: { path: splitRef(ref) },
          }),
        )
      ).items,
    get: async id =>
      call(
        api.GET('/deployments/{id}', {
          baseUrl: await apiBase(),
          params: { path: { id } },
        }),
      ),
    promote: act('/deployments/{id}/promote'),
    pause: act('/deployments/{id}/pause'),
    resume: act('/deployments/{id}/resume'),
    abort: act('/deployments/{id}/abort'),
    approve: act('/deployments/{id}/approve'),
    rollback: async (ref, toVersion, o) =>
      call(
        api.POST('/resources/{namespace}/{name}/rollback', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
          body: toVersion ? { toVersion } : {},
          headers: key(o),
        }),
      ),
    versions: async query =>
      (
        await call(
          api.GET('/versions', {
            baseUrl: await apiBase(),
            params: { query: query ?? {} },
          }),
        )
      ).items,
  };
}
