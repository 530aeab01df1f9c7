/*
 * What the driver's tests share: a driver whose one cluster the fake API server serves, the
 * resource and target it is asked about, a call context, and a look at what it sent.
 */
import { mockServices } from '@backstage/backend-test-utils';
import {
  DriverCallContext,
  DriverError,
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { KubernetesDriver } from '../KubernetesDriver';
import { FakeKubernetes, RecordedRequest } from './fakeKubernetes';

/** The bearer token the fake asks for. */
export const TOKEN = 'sa-token';
/** The apiVersion and kind of the MySQL claim, to spread into `fake.get(...)`. */
export const MYSQL = [
  'database.idp.multicloud/v1alpha1',
  'MySQLInstance',
] as const;

export const target: DriverTarget = {
  cell: 'cell-us',
  provider: 'aws',
  cluster: 'aws-us-east-1',
  region: 'us-east-1',
  zones: ['us-east-1a'],
};

export function resource(
  overrides: Partial<DriverResource> = {},
): DriverResource {
  return {
    ref: 'resource:team-a/orders-db',
    uid: '6f1c2a8e-0b7d-4a43-9d36-2f0f5c1e9a10',
    namespace: 'team-a',
    name: 'orders-db',
    product: 'mysql',
    tier: 'critical',
    owner: 'group:default/team-a',
    generation: 3,
    params: { size: 'medium', storageGi: 100 },
    labels: { 'app.kubernetes.io/part-of': 'checkout' },
    ...overrides,
  };
}

export function context(
  token = 'op-1:apply_claim',
  signal = new AbortController().signal,
): DriverCallContext {
  return {
    idempotencyToken: token,
    operationId: 'op-1',
    traceId: 'trace-42',
    signal,
    logger: mockServices.logger.mock(),
  };
}

/** The DriverError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<DriverError> {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(DriverError);
  return error;
}

/** A fresh fake API server asking for {@link TOKEN}, and a driver with it as `aws-us-east-1`. */
export async function startDriverOnFake(): Promise<{
  fake: FakeKubernetes;
  driver: KubernetesDriver;
}> {
  const fake = await FakeKubernetes.start({ token: TOKEN });
  const driver = new KubernetesDriver({
    clusters: [
      {
        name: 'aws-us-east-1',
        url: fake.url,
        token: TOKEN,
        skipTLSVerify: true,
      },
    ],
  });
  return { fake, driver };
}

/** The server-side applies the fake received, oldest first. */
export const patches = (fake: FakeKubernetes): RecordedRequest[] =>
  fake.requests.filter(r => r.method === 'PATCH');
