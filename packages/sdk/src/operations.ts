/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { splitRef } from './resourceRef';
import { Transport } from './transport';

/** The operation calls: start one on a resource, follow it, cancel it, retry it. */
export function operationCalls(t: Transport): IdpClient['operations'] {
  const { api, apiBase, call, key } = t;
  return {
    create: async (ref, request, o) =>
      call(
        api.POST('/resources/{namespace}/{name}/operations', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
          body: request,
          headers: key(o),
        }),
      ),
    get: async id =>
      call(
        api.GET('/operations/{id}', {
          baseUrl: await apiBase(),
          params: { path: { id } },
        }),
      ),
    cancel: async (id, o) =>
      call(
        api.POST('/operations/{id}/cancel', {
          baseUrl: await apiBase(),
          params: { path: { id } },
          headers: key(o),
        }),
      ),
    retry: async (id, o) =>
      call(
        api.POST('/operations/{id}/retry', {
          baseUrl: await apiBase(),
          params: { path: { id } },
          headers: key(o),
        }),
      ),
  };
}
