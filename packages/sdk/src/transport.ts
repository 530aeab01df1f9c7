import createClient, { Client } from 'openapi-fetch';
import {
  errorFromResponse,
  IdpNetworkError,
  IdpReviewRequiredError,
} from './errors';
import type { paths } from './generated/openapi';
import type { Schemas } from './schemas';

/**
 * How calls are retried: on 429, on 5xx and on network errors, with exponential backoff and
 * full jitter, honouring Retry-After. Mutating calls carry one Idempotency-Key across their
 * retries, so a retry never does the work twice.
 * @public
 */
export interface RetryOptions {
  /** Retries after the first attempt. @defaultValue 4 */
  retries?: number;
  /** @defaultValue 200 */
  minDelayMs?: number;
  /** @defaultValue 10000 */
  maxDelayMs?: number;
}

const retryable = (status: number) => status === 429 || status >= 500;

function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

const sleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** Wraps a fetch with retries; the request is cloned for each attempt. */
export function retryingFetch(
  doFetch: (request: Request) => Promise<Response>,
  options: RetryOptions = {},
): (request: Request) => Promise<Response> {
  const retries = options.retries ?? 4;
  const minDelay = options.minDelayMs ?? 200;
  const maxDelay = options.maxDelayMs ?? 10_000;
  return async request => {
    for (let attempt = 0; ; attempt++) {
      const backoff =
        Math.random() * Math.min(maxDelay, minDelay * 2 ** attempt);
      let response: Response;
      try {
        response = await doFetch(request.clone());
      } catch (error) {
        if (request.signal?.aborted) throw error;
        if (attempt >= retries) {
          throw new IdpNetworkError(
            `Could not reach the control plane at ${request.url}: ${
              (error as Error)?.message ?? error
            }`,
            { statusCode: 0, cause: error },
          );
        }
        await sleep(backoff, request.signal);
        continue;
      }
      if (!retryable(response.status) || attempt >= retries) {
        return response;
      }
      const wait = Math.min(maxDelay, retryAfterMs(response) ?? backoff);
      response.body?.cancel().catch(() => undefined);
      await sleep(wait, request.signal);
    }
  };
}

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

/** How the client's calls reach the control plane; what each group of calls is given. */
export interface Transport {
  /** The typed API client: every request authorized and retried. */
  api: Client<paths>;
  /** The API's base URL, found once (from the discovery API or `baseUrl`). */
  apiBase(): Promise<string>;
  /**
   * Unwraps an openapi-fetch result: the data, or the typed error. A write proposed for
   * review instead of made (202 `{ proposal }`) throws {@link IdpReviewRequiredError}.
   */
  call<T>(
    promise: Promise<{ data?: T; error?: unknown; response: Response }>,
  ): Promise<Exclude<T, ReviewProposed>>;
  /** The Idempotency-Key header of a mutating call: the caller's key, or a new one. */
  key(o?: MutationOptions): { 'idempotency-key': string };
  /** The authorized, retrying fetch, for what the typed client does not do (event streams). */
  fetch(request: Request): Promise<Response>;
}

type ReviewProposed = Schemas['ReviewProposed'];

const isReviewProposed = (data: unknown): data is ReviewProposed =>
  typeof data === 'object' &&
  data !== null &&
  Object.keys(data).length === 1 &&
  typeof (data as { proposal?: unknown }).proposal === 'object';

const newKey = () => globalThis.crypto.randomUUID();

/** The transport of a client with these options (which name a baseUrl or a discoveryApi). */
export function createTransport(options: IdpClientOptions): Transport {
  const { discoveryApi, token } = options;
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

  async function call<T>(
    promise: Promise<{ data?: T; error?: unknown; response: Response }>,
  ): Promise<Exclude<T, ReviewProposed>> {
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
    if (response.status === 202 && isReviewProposed(data)) {
      throw new IdpReviewRequiredError(data.proposal);
    }
    return data as Exclude<T, ReviewProposed>;
  }

  const key = (o?: MutationOptions) => ({
    'idempotency-key': o?.idempotencyKey ?? newKey(),
  });

  return { api, apiBase, call, key, fetch: fetchWithRetries };
}
