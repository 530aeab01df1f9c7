/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import {
  CreateResourceRequest,
  ListResourcesQuery,
  ResourceEvent,
  ResourceState,
  UpdateResourceRequest,
} from '@idp-multicloud/plugin-control-plane-common';
import { IdpWaitError } from './errors';
import { followEvents, readEventLog } from './resourceEvents';
import { splitRef } from './resourceRef';
import type { Operation, Resource, ResourcePage, Schemas } from './schemas';
import { MutationOptions, Transport } from './transport';

/** Options of {@link IdpResources.waitFor}. @public */
export interface WaitOptions {
  /** Give up after this many milliseconds. @defaultValue 600000 */
  timeoutMs?: number;
  /** Called with each event of the resource while waiting. */
  onEvent?: (event: ResourceEvent) => void;
  signal?: AbortSignal;
}

/** The resource calls of the client. @public */
export interface IdpResources {
  create(
    request: CreateResourceRequest,
    options?: MutationOptions,
  ): Promise<Resource>;
  list(query?: ListResourcesQuery): Promise<ResourcePage>;
  /** Every resource matching the query, page after page. */
  listAll(query?: Omit<ListResourcesQuery, 'cursor'>): AsyncGenerator<Resource>;
  get(ref: string): Promise<Resource>;
  update(
    ref: string,
    patch: UpdateResourceRequest,
    options?: MutationOptions,
  ): Promise<Resource>;
  delete(
    ref: string,
    options?: MutationOptions & { cascade?: boolean },
  ): Promise<Schemas['DeleteResourceResponse']>;
  status(ref: string): Promise<Schemas['ResourceStatusResponse']>;
  history(ref: string): Promise<Schemas['ResourceHistory']>;
  blockers(ref: string): Promise<Schemas['Blockers']>;
  /** The latest placement decision, explained (IdpNotFoundError before it is placed). */
  placement(ref: string): Promise<Schemas['PlacementDecision']>;
  /** Monthly estimate, cost this month, and the tightest budget that applies. */
  cost(ref: string): Promise<Schemas['ResourceCost']>;
  operations(ref: string): Promise<Operation[]>;
  /** Lets the control plane try a failed generation again. */
  retry(ref: string, options?: MutationOptions): Promise<Resource>;
  /** The resource's events so far (after `afterId`), oldest first, every page of them. */
  eventLog(
    ref: string,
    options?: { afterId?: number },
  ): Promise<ResourceEvent[]>;
  /**
   * The resource's events as they happen (after `afterId`), reconnecting with the last id
   * seen when the connection drops. Ends when `signal` aborts.
   */
  events(
    ref: string,
    options?: { afterId?: number; signal?: AbortSignal },
  ): AsyncGenerator<ResourceEvent>;
  /**
   * Resolves with the resource once it is in `state`; rejects with IdpWaitError when it ends
   * FAILED or DELETED instead, or when the time runs out.
   */
  waitFor(
    ref: string,
    state: ResourceState | ResourceState[],
    options?: WaitOptions,
  ): Promise<Resource>;
}

/** Create a resource of one product with its parameters checked at compile time. @public */
export type ProductHelper<P> = {
  create(
    request: Omit<CreateResourceRequest, 'product' | 'params'> & P,
    options?: MutationOptions,
  ): Promise<Resource>;
};

/** The resource calls, over `t`. */
export function resourceCalls(t: Transport): IdpResources {
  const { api, apiBase, call, key } = t;
  const resources: IdpResources = {
    create: async (request, o) =>
      call(
        api.POST('/resources', {
          baseUrl: await apiBase(),
          body: request as Schemas['CreateResourceRequest'],
          headers: key(o),
        }),
      ),
    list: async query =>
      call(
        api.GET('/resources', {
          baseUrl: await apiBase(),
          params: { query: query as any },
        }),
      ),
    async *listAll(query) {
      let cursor: string | undefined;
      do {
        const page: ResourcePage = await resources.list({ ...query, cursor });
        yield* page.items;
        cursor = page.nextCursor;
      } while (cursor);
    },
    get: async ref =>
      call(
        api.GET('/resources/{namespace}/{name}', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
        }),
      ),
    update: async (ref, patch, o) =>
      call(
        api.PATCH('/resources/{namespace}/{name}', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
          body: patch as Schemas['UpdateResourceRequest'],
          headers: key(o),
        }),
      ),
    delete: async (ref, o) =>
      call(
        api.DELETE('/resources/{namespace}/{name}', {
          baseUrl: await apiBase(),
          params: {
            path: splitRef(ref),
            query: o?.cascade ? { cascade: 'true' } : {},
          },
          headers: key(o),
        }),
      ),
    status: async ref =>
      call(
        api.GET('/resources/{namespace}/{name}/status', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
        }),
      ),
    history: async ref =>
      call(
        api.GET('/resources/{namespace}/{name}/history', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
        }),
      ),
    blockers: async ref =>
      call(
        api.GET('/resources/{namespace}/{name}/blockers', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
        }),
      ),
    placement: async ref =>
      call(
        api.GET('/resources/{namespace}/{name}/placement', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
        }),
      ),
    cost: async ref =>
      call(
        api.GET('/resources/{namespace}/{name}/cost', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
        }),
      ),
    operations: async ref =>
      (
        await call(
          api.GET('/resources/{namespace}/{name}/operations', {
            baseUrl: await apiBase(),
            params: { path: splitRef(ref) },
          }),
        )
      ).items,
    retry: async (ref, o) =>
      call(
        api.POST('/resources/{namespace}/{name}/retry', {
          baseUrl: await apiBase(),
          params: { path: splitRef(ref) },
          headers: key(o),
        }),
      ),
    eventLog: (ref, o) => readEventLog(t, ref, o),
    events: (ref, o) => followEvents(t, ref, o),
    async waitFor(ref, state, o = {}) {
      const wanted = new Set(Array.isArray(state) ? state : [state]);
      const controller = new AbortController();
      const abort = () => controller.abort(o.signal?.reason);
      o.signal?.addEventListener('abort', abort, { once: true });
      const timeoutMs = o.timeoutMs ?? 600_000;
      const timer = setTimeout(
        () => controller.abort(new Error('timeout')),
        timeoutMs,
      );
      const check = async (): Promise<Resource | undefined> => {
        const current = await resources.get(ref);
        const now = current.status.state;
        if (wanted.has(now)) return current;
        if ((now === 'FAILED' || now === 'DELETED') && !wanted.has(now)) {
          throw new IdpWaitError(
            `${current.ref} is ${now}${
              current.status.reason ? `: ${current.status.reason}` : ''
            }`,
            { statusCode: 200, errorName: 'WaitError', body: current },
          );
        }
        return undefined;
      };
      try {
        const early = await check();
        if (early) return early;
        for await (const event of resources.events(ref, {
          signal: controller.signal,
        })) {
          o.onEvent?.(event);
          if (event.type === 'state.changed') {
            const done = await check();
            if (done) return done;
          }
        }
        throw new IdpWaitError(
          controller.signal.reason?.message === 'timeout'
            ? `${ref} did not become ${[...wanted].join(
                ' or ',
              )} within ${timeoutMs} ms`
            : `stopped waiting for ${ref}`,
          { statusCode: 0, errorName: 'WaitError' },
        );
      } finally {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', abort);
        controller.abort();
      }
    },
  };
  return resources;
}

/** The helper that creates resources of `product`, its parameters beside the common fields. */
export const productHelper = (
  resources: IdpResources,
  product: string,
): ProductHelper<any> => ({
  create: (
    {
      name,
      namespace,
      owner,
      component,
      tier,
      cell,
      dependsOn,
      labels,
      placement,
      driftPolicy,
      ...params
    },
    o,
  ) =>
    resources.create(
      {
        name,
        namespace,
        owner,
        component,
        tier,
        cell,
        dependsOn,
        labels,
        placement,
        driftPolicy,
        product,
        params,
      },
      o,
    ),
});
