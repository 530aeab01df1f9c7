import { KubeConfig, Watch } from '@kubernetes/client-node';
import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import { KubeObject } from './claims';
import { isRetryableStatus, toDriverError, watchError } from './errors';

/**
 * Watches a collection until `until` returns something for an event (resolving with it),
 * the watch ends or expires (resolving undefined: list again), or fails (rejecting). An
 * abort of `signal` rejects with its reason; the watch is closed however it settles.
 *
 * @param path - the collection, e.g. `/apis/<group>/<version>/namespaces/<namespace>/<plural>`
 * @param action - what is being done, for errors: `watch <path> on cluster <name>`
 */
export function watchCollection<T>(
  kc: KubeConfig,
  path: string,
  query: { fieldSelector: string; resourceVersion?: string },
  signal: AbortSignal,
  action: string,
  until: (type: string, object: KubeObject) => T | undefined,
): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    const stop = new AbortController(); // removes the abort listener below
    const finish = (value: T | undefined, error?: unknown) => {
      if (settled) return;
      settled = true;
      stop.abort();
      controller?.abort();
      if (error) reject(error);
      else resolve(value);
    };
    signal.addEventListener('abort', () => finish(undefined, signal.reason), {
      once: true,
      signal: stop.signal,
    });
    new Watch(kc)
      .watch(
        path,
        query,
        (type: string, object: KubeObject) => {
          if (type === 'ERROR') {
            const status = object as unknown as {
              code?: number;
              message?: string;
            };
            if (status.code === 410) finish(undefined); // expired: list again
            else
              finish(
                undefined,
                new DriverError(
                  `${action} failed: ${status.code} ${status.message}`,
                  {
                    retryable: isRetryableStatus(status.code),
                  },
                ),
              );
            return;
          }
          const value = until(type, object);
          if (value !== undefined) finish(value);
        },
        (error: unknown) => {
          if (!error) finish(undefined);
          else
            finish(
              undefined,
              watchError(error as { statusCode?: number }, action),
            );
        },
      )
      .then(
        c => {
          controller = c;
          if (settled) c.abort();
        },
        error => finish(undefined, toDriverError(error, action)),
      );
  });
}
