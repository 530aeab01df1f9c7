import { AbortError, ApiException, FetchError } from '@kubernetes/client-node';
import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import { toDriverError } from './errors';

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason,
    message,
  });

describe('toDriverError', () => {
  it.each<
    [string, unknown, { retryable: boolean; code?: string; message: string }]
  >([
    [
      'throttling',
      new ApiException(
        429,
        'Unsuccessful HTTP Request',
        status(429, 'TooManyRequests', 'slow down'),
        {},
      ),
      {
        retryable: true,
        code: 'TooManyRequests',
        message: 'apply X failed: HTTP 429 slow down',
      },
    ],
    [
      'an invalid object',
      new ApiException(
        422,
        'Unsuccessful HTTP Request',
        status(422, 'Invalid', 'spec.x: Required value'),
        {},
      ),
      {
        retryable: false,
        code: 'Invalid',
        message: 'apply X failed: HTTP 422 spec.x: Required value',
      },
    ],
    [
      'a body that is not a Status',
      new ApiException(502, 'Unsuccessful HTTP Request', 'Bad Gateway', {}),
      {
        retryable: true,
        code: 'HTTP_502',
        message: 'apply X failed: HTTP 502 Bad Gateway',
      },
    ],
    [
      'a refused connection',
      new FetchError(
        'request to https://k8s failed, reason: connect ECONNREFUSED',
        'system',
        {
          code: 'ECONNREFUSED',
        } as any,
      ),
      {
        retryable: true,
        code: 'ECONNREFUSED',
        message: expect.stringContaining('ECONNREFUSED'),
      },
    ],
    [
      'an untrusted certificate',
      new FetchError(
        'request to https://k8s failed, reason: self-signed certificate',
        'system',
        {
          code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
        } as any,
      ),
      {
        retryable: false,
        code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
        message: expect.stringContaining('self-signed'),
      },
    ],
    [
      'an aborted call',
      new AbortError('The operation was aborted.'),
      { retryable: true, code: 'Aborted', message: 'apply X was aborted' },
    ],
    [
      'a kind the cluster does not serve',
      new Error('Unrecognized API version and kind: example.com/v1 Thing'),
      {
        retryable: false,
        message: expect.stringContaining('Unrecognized API version and kind'),
      },
    ],
  ])('%s', (_, error, expected) => {
    const mapped = toDriverError(error, 'apply X');
    expect(mapped).toBeInstanceOf(DriverError);
    expect(mapped).toMatchObject(expected);
    expect(mapped.cause).toBe(error);
  });

  it('passes a DriverError through', () => {
    const error = new DriverError('nope', { retryable: false });
    expect(toDriverError(error, 'apply X')).toBe(error);
  });
});
