import { FakeKind } from './fakeKinds';

/** The `reason` of a `Status`, by HTTP status. */
const reasons: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A failure the fake answers with a `Status`, as the API server does. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The `Status` object the API server answers a failure with. */
export function statusOf(error: ApiError) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: reasons[error.code] ?? 'Unknown',
    code: error.code,
  };
}

/** What the API server answers for a path it does not serve. */
export const pageNotFound = () =>
  new ApiError(404, 'the server could not find the requested resource');

/** What the API server answers for an object that does not exist. */
export function notFound(kind: FakeKind, name: string): ApiError {
  const group = kind.apiVersion.includes('/')
    ? `.${kind.apiVersion.split('/')[0]}`
    : '';
  return new ApiError(404, `${kind.plural}${group} "${name}" not found`);
}
