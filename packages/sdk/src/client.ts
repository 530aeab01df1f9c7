/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import {
  BuiltinProductId,
  BuiltinProductParameters,
  CreateResourceRequest,
  HealthResponse,
  ListResourcesQuery,
  ResourceEvent,
  ResourceState,
  UpdateResourceRequest,
} from '@idp-multicloud/plugin-control-plane-common';
import createClient from 'openapi-fetch';
import { errorFromResponse, IdpError, IdpWaitError } from './errors';
import type { components, paths } from './generated/openapi';
import { readEventStream } from './sse';
import { RetryOptions, retryingFetch } from './transport';

/**
 * The schemas of the control plane API, by name.
 * @public
 */
export type Schemas = components['schemas'];
/** A resource. @public */
export type Resource = Schemas['Resource'];
/** A page of resources. @public */
export type ResourcePage = Schemas['ResourcePage'];
/** An operation and its timeline. @public */
export type Operation = Schemas['Operation'];
/** A manifests plan. @public */
export type Plan = Schemas['Plan'];

/**
 * How the client finds the control plane and authenticates. Give either a `baseUrl` (the
 * Backstage backend's base URL, e.g. `http://localhost:7007`) or a `discoveryApi`.
 * @public
 */
export interface IdpClientOptions {
  /** Base URL of the Backstage backend; the API lives under `/api/control-plane`. */
  baseUrl?: string;
  /** Backstage's discovery API (inside Backstage). Takes precedence over `baseUrl`. */
  discoveryApi?: { getBaseUrl(pluginId: string): Promise<string> };
  /** A bearer token, or a function returning one per request. */
  token?: string | (() => Promise<string | undefined> | string | undefined);
  /** The fetch to use: Backstage's fetchApi.fetch, a test double, or the global fetch. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** Retries on 429, 5xx and network errors. */
  retry?: RetryOptions;
}

/** Options of a mutating call. @public */
export interface MutationOptions {
  /** Reuse a key to make a call you repeat (from a retrying job, say) count once. */
  idempotencyKey?: string;
}

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

/**
 * The typed client of the control plane API.
 * @public
 */
export type IdpClient = {
  health(): Promise<HealthResponse>;
  resources: IdpResources;
  operations: {
    create(
      ref: string,
      request: Schemas['CreateOperationRequest'],
      options?: MutationOptions,
    ): Promise<Operation>;
    get(id: string): Promise<Operation>;
    /** Stops an operation in flight; what it did is undone. */
    cancel(id: string, options?: MutationOptions): Promise<Operation>;
    /** Resumes the compensation of an operation parked as needs-attention. */
    retry(id: string, options?: MutationOptions): Promise<Operation>;
  };
  reconciler: {
    /** Runs a reconciler pass now (with `drift`, also looks for drift); for platform engineers. */
    run(
      request?: Schemas['ReconcilerRunRequest'],
      options?: MutationOptions,
    ): Promise<Schemas['ReconcilerRunResponse']>;
  };
  manifests: {
    plan(yaml: string, options?: { prune?: boolean }): Promise<Plan>;
    apply(
      yaml: string,
      options?: MutationOptions & { prune?: boolean },
    ): Promise<Plan>;
  };
  catalog: {
    products(): Promise<Schemas['Product'][]>;
    product(id: string): Promise<Schemas['Product']>;
    tiers(): Promise<Schemas['Tier'][]>;
    cells(): Promise<Schemas['Cell'][]>;
    providers(): Promise<Schemas['Provider'][]>;
    clusters(): Promise<Schemas['Cluster'][]>;
    quotas(): Promise<Schemas['Quota'][]>;
    /** Every quota with what its scope uses now. */
    quotaUsage(): Promise<Schemas['QuotaUsage'][]>;
    policies(): Promise<Schemas['Policy'][]>;
  };
  cost: {
    /** The monthly list price of a resource on each provider of a cell, cheapest first. */
    estimate(
      request: Schemas['CostEstimateRequest'],
    ): Promise<Schemas['CostEstimate']>;
    /** Cost accrued over a window, grouped by cell, team, tier, product or provider. */
    chargeback(
      query?: paths['/cost/chargeback']['get']['parameters']['query'],
    ): Promise<Schemas['Chargeback']>;
  };
  audit: {
    list(
      query?: paths['/audit']['get']['parameters']['query'],
    ): Promise<Schemas['AuditPage']>;
    verify(): Promise<Schemas['AuditVerification']>;
  };
  gitops: {
    status(): Promise<Schemas['GitopsStatus']>;
    sync(): Promise<Schemas['GitopsSyncResponse']>;
  };
  /** Placement experiments: shares of placements scored with other weights. */
  experiments: {
    list(): Promise<Schemas['Experiment'][]>;
    /** An experiment with the outcomes of its arms. */
    get(name: string): Promise<Schemas['Experiment']>;
    create(
      request: Schemas['CreateExperimentRequest'],
      options?: MutationOptions,
    ): Promise<Schemas['Experiment']>;
    stop(
      name: string,
      options?: MutationOptions,
    ): Promise<Schemas['Experiment']>;
  };
  /** Feature flags of platform behaviour, per cell and tier. */
  flags: {
    list(): Promise<Schemas['FeatureFlag'][]>;
    get(name: string): Promise<Schemas['FeatureFlag']>;
    /** Sets a flag everywhere, or in a cell, a tier, or both. */
    set(
      name: string,
      request: Schemas['SetFeatureFlagRequest'],
      options?: MutationOptions,
    ): Promise<Schemas['FeatureFlag']>;
    /** Removes a flag's value in a scope; the next more general one applies. */
    unset(
      name: string,
      scope?: { cell?: string; tier?: Schemas['Tier']['id'] },
      options?: MutationOptions,
    ): Promise<Schemas['FeatureFlag']>;
  };
} & {
  [K in BuiltinProductId as K extends 'object-bucket'
    ? 'objectBucket'
    : K]: ProductHelper<BuiltinProductParameters[K]>;
};

function splitRef(ref: string): { namespace: string; name: string } {
  const bare = ref.replace(/^resource:/, '');
  const [namespace, name] = bare.includes('/')
    ? bare.split('/', 2)
    : ['default', bare];
  return { namespace, name };
}

const newKey = () => globalThis.crypto.randomUUID();

/**
 * Creates a client for the control plane API.
 * @public
 */
export function createIdpClient(options: IdpClientOptions): IdpClient {
  const { discoveryApi, token } = options;
  if (!discoveryApi && !options.baseUrl) {
    throw new TypeError('createIdpClient needs a baseUrl or a discoveryApi');
  }
  // Called with a URL and init, not a Request: fetch wrappers such as Backstage's fetchApi
  // build their own Request from what they are given, and a used body cannot be reused.
  const underlying = async (request: Request) => {
    const doFetch = options.fetch ?? globalThis.fetch;
    const body = request.body ? await request.arrayBuffer() : undefined;
    return doFetch(request.url, {
      method: request.method,
      headers: request.headers,
      body,
      signal: request.signal,
    });
  };
  const authorizedFetch = async (request: Request) => {
    const bearer = typeof token === 'function' ? await token() : token;
    if (bearer && !request.headers.has('authorization')) {
      request.headers.set('authorization', `Bearer ${bearer}`);
    }
    return underlying(request);
  };
  const fetchWithRetries = retryingFetch(authorizedFetch, options.retry);

  let baseUrl: string | undefined;
  const apiBase = async () => {
    if (!baseUrl) {
      baseUrl = discoveryApi
        ? await discoveryApi.getBaseUrl('control-plane')
        : `${options.baseUrl!.replace(/\/+$/, '')}/api/control-plane`;
    }
    return baseUrl;
  };
  const api = createClient<paths>({ fetch: fetchWithRetries });

  /** Unwraps an openapi-fetch result: the data, or the typed error. */
  async function call<T>(
    promise: Promise<{ data?: T; error?: unknown; response: Response }>,
  ): Promise<T> {
    const { data, error, response } = await promise;
    if (error !== undefined || !response.ok) {
      throw await errorFromResponse(
        new Response(JSON.stringify(error ?? {}), {
          status: response.status,
          statusText: response.statusText,
          headers: { 'content-type': 'application/json' },
        }),
      );
    }
    return data as T;
  }

  const key = (o?: MutationOptions) => ({
    'idempotency-key': o?.idempotencyKey ?? newKey(),
  });

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
    async eventLog(ref, o = {}) {
      const limit = 500;
      const all: ResourceEvent[] = [];
      let after = o.afterId ?? 0;
      for (;;) {
        const page = await call(
          api.GET('/resources/{namespace}/{name}/events', {
            baseUrl: await apiBase(),
            params: { path: splitRef(ref), query: { after, limit } },
            headers: { accept: 'application/json' },
          }),
        );
        const { items, lastId } = page as Schemas['ResourceEventPage'];
        all.push(...(items as ResourceEvent[]));
        if (items.length < limit) return all;
        after = lastId;
      }
    },
    async *events(ref, o = {}) {
      const { namespace, name } = splitRef(ref);
      let lastId = o.afterId ?? 0;
      let failures = 0;
      while (!o.signal?.aborted) {
        try {
          const request = new Request(
            `${await apiBase()}/resources/${encodeURIComponent(
              namespace,
            )}/${encodeURIComponent(name)}/events`,
            {
              headers: {
                accept: 'text/event-stream',
                'last-event-id': String(lastId),
              },
              signal: o.signal,
            },
          );
          const response = await fetchWithRetries(request);
          if (!response.ok || !response.body) {
            throw await errorFromResponse(response);
          }
          failures = 0;
          for await (const message of readEventStream(response.body)) {
            const event = JSON.parse(message.data) as ResourceEvent;
            lastId = event.id;
            yield event;
          }
        } catch (error) {
          if (o.signal?.aborted) return;
          // Client errors (403, 404, ...) will not get better by reconnecting.
          if (
            error instanceof IdpError &&
            error.statusCode >= 400 &&
            error.statusCode < 500
          )
            throw error;
          failures += 1;
          if (failures > 8) throw error;
        }
        const delay = Math.min(10_000, 250 * 2 ** failures);
        await new Promise(r => setTimeout(r, delay));
      }
    },
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

  const productHelper = (product: string): ProductHelper<any> => ({
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

  return {
    health: async () =>
      call(
        api.GET('/health', { baseUrl: await apiBase() }),
      ) as Promise<HealthResponse>,
    resources,
    operations: {
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
    },
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
    manifests: {
      plan: async (yaml, o) =>
        call(
          api.POST('/manifests/plan', {
            baseUrl: await apiBase(),
            body: { yaml, prune: o?.prune ?? false },
          }),
        ),
      apply: async (yaml, o) =>
        call(
          api.POST('/manifests/apply', {
            baseUrl: await apiBase(),
            body: { yaml, prune: o?.prune ?? false },
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
    audit: {
      list: async query =>
        call(
          api.GET('/audit', { baseUrl: await apiBase(), params: { query } }),
        ),
      verify: async () =>
        call(api.GET('/audit/verify', { baseUrl: await apiBase() })),
    },
    gitops: {
      status: async () =>
        call(api.GET('/gitops/status', { baseUrl: await apiBase() })),
      sync: async () =>
        call(api.POST('/gitops/sync', { baseUrl: await apiBase() })),
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
    mysql: productHelper('mysql'),
    postgres: productHelper('postgres'),
    redis: productHelper('redis'),
    webapp: productHelper('webapp'),
    kafka: productHelper('kafka'),
    objectBucket: productHelper('object-bucket'),
  };
}
