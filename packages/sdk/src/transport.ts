import { IdpNetworkError } from './errors';

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
