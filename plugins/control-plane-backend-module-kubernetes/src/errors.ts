import { isError, stringifyError } from '@backstage/errors';
import { ApiException } from '@kubernetes/client-node';
import { DriverError } from '@idp-multicloud/plugin-control-plane-node';

/** Answers worth retrying: throttling and the server or a proxy in front of it failing. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** Whether an HTTP status is worth retrying (see {@link RETRYABLE_STATUS}). */
export const isRetryableStatus = (code: number | undefined) =>
  code !== undefined && RETRYABLE_STATUS.has(code);

/** Network errors that retrying cannot fix: the server's certificate is not trusted. */
const TLS_ERROR = /CERT|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/;

/** The `Status` object of a failed Kubernetes request, when its body is one. */
function statusOf(body: unknown): { message?: string; reason?: string } {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body ? { message: body } : {};
    }
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const { message, reason } = value as Record<string, unknown>;
    return {
      message: typeof message === 'string' ? message : undefined,
      reason: typeof reason === 'string' ? reason : undefined,
    };
  }
  return {};
}

/** Whether `error` is the API server answering 404 (the object or its API is absent). */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

/**
 * Turns whatever a call to the API server threw into a {@link DriverError}: retryable for
 * throttling, server errors, timeouts and network failures; not for answers that a retry
 * would repeat (400, 401, 403, 404, 409, 422, ...), which carry the server's message.
 *
 * @param action - what was being done, e.g. `apply MySQLInstance team-a/orders-db on cluster aws-us-east-1`
 */
export function toDriverError(error: unknown, action: string): DriverError {
  if (error instanceof DriverError) {
    return error;
  }
  if (error instanceof ApiException) {
    const { message, reason } = statusOf(error.body);
    return new DriverError(
      `${action} failed: HTTP ${error.code} ${message ?? error.message}`,
      {
        retryable: RETRYABLE_STATUS.has(error.code),
        code: reason ?? `HTTP_${error.code}`,
        cause: error,
      },
    );
  }
  if (isError(error) && error.name === 'AbortError') {
    return new DriverError(`${action} was aborted`, {
      retryable: true,
      code: 'Aborted',
      cause: error,
    });
  }
  if (isError(error) && error.name === 'FetchError') {
    const code = String((error as { code?: unknown }).code ?? '');
    return new DriverError(`${action} failed: ${error.message}`, {
      retryable: !TLS_ERROR.test(code),
      code: code || 'NetworkError',
      cause: error,
    });
  }
  return new DriverError(`${action} failed: ${stringifyError(error)}`, {
    retryable: false,
    cause: error,
  });
}

/** What a failed watch request means for a retry. */
export function watchError(
  error: { statusCode?: number; name?: string },
  action: string,
): DriverError {
  if (typeof error.statusCode === 'number') {
    return new DriverError(`${action} failed: HTTP ${error.statusCode}`, {
      retryable: isRetryableStatus(error.statusCode),
      code: `HTTP_${error.statusCode}`,
      cause: error,
    });
  }
  return toDriverError(error, action);
}
