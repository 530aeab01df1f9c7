/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

const ENDED = ['succeeded', 'compensated', 'failed'];

/** Clusters as managed objects: reads, lifecycle requests, and waiting for their operations. */
export function clusterCalls(t: Transport): IdpClient['clusters'] {
  const { api, apiBase, call, key } = t;
  const path = (name: string) => ({ params: { path: { name } } });
  const calls: IdpClient['clusters'] = {
    list: async () =>
      (await call(api.GET('/clusters', { baseUrl: await apiBase() }))).items,
    get: async name =>
      call(
        api.GET('/clusters/{name}', {
          baseUrl: await apiBase(),
          ...path(name),
        }),
      ),
    health: async name =>
      call(
        api.GET('/clusters/{name}/health', {
          baseUrl: await apiBase(),
          ...path(name),
        }),
      ),
    operations: async name =>
      (
        await call(
          api.GET('/clusters/{name}/operations', {
            baseUrl: await apiBase(),
            ...path(name),
          }),
        )
      ).items,
    operation: async (name, id) =>
      call(
        api.GET('/clusters/{name}/operations/{id}', {
          baseUrl: await apiBase(),
          params: { path: { name, id } },
        }),
      ),
    create: async (body, o) =>
      call(
        api.POST('/clusters', {
          baseUrl: await apiBase(),
          body,
          headers: key(o),
        }),
      ),
    update: async (name, body, o) =>
      call(
        api.PATCH('/clusters/{name}', {
          baseUrl: await apiBase(),
          ...path(name),
          body,
          headers: key(o),
        }),
      ),
    drain: async (name, o) =>
      call(
        api.POST('/clusters/{name}/drain', {
          baseUrl: await apiBase(),
          ...path(name),
          body: o?.reason ? { reason: o.reason } : {},
          headers: key(o),
        }),
      ),
    uncordon: async (name, o) =>
      call(
        api.POST('/clusters/{name}/uncordon', {
          baseUrl: await apiBase(),
          ...path(name),
          headers: key(o),
        }),
      ),
    decommission: async (name, o) =>
      call(
        api.DELETE('/clusters/{name}', {
          baseUrl: await apiBase(),
          ...path(name),
          headers: key(o),
        }),
      ),
    runAutomation: async o =>
      call(
        api.POST('/clusters/automation/run', {
          baseUrl: await apiBase(),
          headers: key(o),
        }),
      ),
    approveMinor: async (channel, minor, o) =>
      call(
        api.POST('/clusters/channels/{channel}/approvals', {
          baseUrl: await apiBase(),
          params: { path: { channel } },
          body: { minor },
          headers: key(o),
        }),
      ),
    async wait(name, id, o) {
      const deadline = Date.now() + (o?.timeoutMs ?? 30 * 60_000);
      for (;;) {
        const op = await calls.operation(name, id);
        o?.onProgress?.(op);
        if (ENDED.includes(op.state)) return op;
        if (Date.now() > deadline) {
          throw new Error(`operation ${id} of ${name} did not end in time`);
        }
        await new Promise(r => setTimeout(r, o?.pollMs ?? 1000));
      }
    },
  };
  return calls;
}
