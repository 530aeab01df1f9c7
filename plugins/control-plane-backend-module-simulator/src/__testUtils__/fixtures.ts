import {
  mockServices,
  TestDatabaseId,
  TestDatabases,
} from '@backstage/backend-test-utils';
import {
  DriverCallContext,
  DriverError,
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { SimulatedDriver, SimulatedDriverOptions } from '../SimulatedDriver';

export const logger = mockServices.rootLogger({ level: 'none' });

export const targets: Record<string, DriverTarget> = {
  aws: {
    cell: 'cell-us',
    provider: 'aws',
    cluster: 'aws-us-east-1',
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
  },
  gcp: {
    cell: 'cell-us',
    provider: 'gcp',
    cluster: 'gcp-us-central1',
    region: 'us-central1',
    zones: ['us-central1-a', 'us-central1-b', 'us-central1-f'],
  },
  oci: {
    cell: 'cell-us',
    provider: 'oci',
    cluster: 'oci-us-ashburn-1',
    region: 'us-ashburn-1',
    zones: ['us-ashburn-1-ad1'],
  },
};

let uids = 0;

/** A MySQL resource (its effective params), fresh uid each time. */
export function mysql(
  name = 'orders-db',
  changes: Partial<DriverResource> = {},
): DriverResource {
  uids += 1;
  return {
    ref: `resource:default/${name}`,
    uid: `uid-${name}-${uids}`,
    namespace: 'default',
    name,
    product: 'mysql',
    tier: 'high',
    owner: 'group:default/payments',
    generation: 1,
    params: {
      size: 'medium',
      storageGi: 100,
      engineVersion: '8.0',
      replicas: 1,
      highAvailability: false,
      backups: { enabled: true, retentionDays: 7, window: '02:00-03:00' },
      encryption: true,
      parameters: {},
    },
    labels: {},
    ...changes,
  };
}

/** The context of a call made by a step of an operation. */
export function ctx(
  token: string,
  signal: AbortSignal = new AbortController().signal,
): DriverCallContext {
  return {
    idempotencyToken: token,
    operationId: token.split(':')[0],
    signal,
    logger,
  };
}

export const sleep = (ms: number) =>
  new Promise<void>(resolve => setTimeout(resolve, ms));

/** What a promise rejected with, as a DriverError. */
export async function driverErrorOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(DriverError);
  return error as DriverError;
}

/** Polls until `fn` returns a value `until` accepts, or fails after a while. */
export async function eventually<T>(
  fn: () => Promise<T>,
  until: (value: T) => boolean,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (until(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    }
    await sleep(10);
  }
}

/** How long a resource provisions in the driver tests. */
export const PROVISION_MS = 100;
/** How long a resource deprovisions in the driver tests. */
export const DEPROVISION_MS = 80;

/**
 * For the tests of one database: a fresh database before each test, and `driver()`, a
 * simulated driver on it that provisions in {@link PROVISION_MS}, deprovisions in
 * {@link DEPROVISION_MS} and has no latency unless told otherwise.
 */
export function simulatedDriverOn(
  databases: TestDatabases,
  databaseId: TestDatabaseId,
) {
  let knex: Knex;
  beforeEach(async () => {
    knex = await databases.init(databaseId);
  });
  return {
    /** The database of the current test. */
    knex: () => knex,
    driver: (
      options: Partial<SimulatedDriverOptions> = {},
    ): Promise<SimulatedDriver> =>
      SimulatedDriver.create({
        database: knex,
        logger,
        provisioningTime: { milliseconds: PROVISION_MS },
        deprovisioningTime: { milliseconds: DEPROVISION_MS },
        latency: { default: 0 },
        ...options,
      }),
  };
}
