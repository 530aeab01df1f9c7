import { Operation, Resource, Schemas } from '@idp-multicloud/sdk';

export function resource(
  name: string,
  overrides: {
    product?: string;
    tier?: Resource['spec']['tier'];
    state?: Resource['status']['state'];
    dependsOn?: string[];
    placement?: Resource['status']['placement'];
  } = {},
): Resource {
  return {
    ref: `resource:default/${name}`,
    metadata: { name, namespace: 'default', labels: {} },
    spec: {
      product: overrides.product ?? 'mysql',
      tier: overrides.tier ?? 'high',
      cell: 'cell-us',
      owner: 'group:default/team-a',
      component: 'component:default/checkout',
      dependsOn: overrides.dependsOn ?? [],
      params: {},
    },
    status: {
      state: overrides.state ?? 'READY',
      conditions: [],
      createdAt: '2026-11-01T10:00:00.000Z',
      updatedAt: '2026-11-01T10:05:00.000Z',
      generation: 1,
      observedGeneration: 1,
      version: '8.0',
      ...(overrides.placement === undefined
        ? {
            placement: {
              cell: 'cell-us',
              provider: 'aws',
              cluster: 'aws-us-1',
            },
          }
        : {}),
    },
  };
}

export const createOperation: Operation = {
  id: '0b7e6a52-8d0e-4c61-9f3a-2f3c1f1b9a01',
  type: 'create',
  state: 'succeeded',
  actor: 'user:default/alice',
  resourceRef: 'resource:default/orders-db',
  cancelRequested: false,
  // Why it was started: not a problem.
  reason: 'requested in commit 88bcc57',
  createdAt: '2026-11-01T10:00:00.000Z',
  updatedAt: '2026-11-01T10:05:00.000Z',
  params: {},
  steps: [
    {
      name: 'schedule',
      state: 'succeeded',
      attempts: 1,
      compensationAttempts: 0,
      startedAt: '2026-11-01T10:00:01.000Z',
      finishedAt: '2026-11-01T10:00:02.000Z',
    },
    {
      name: 'apply_claim',
      state: 'succeeded',
      attempts: 3,
      compensationAttempts: 0,
      startedAt: '2026-11-01T10:00:02.000Z',
      finishedAt: '2026-11-01T10:03:00.000Z',
    },
  ],
  timeline: [
    {
      id: 1,
      at: '2026-11-01T10:00:00.000Z',
      type: 'operation.accepted',
      message: 'accepted',
    },
    {
      id: 2,
      at: '2026-11-01T10:01:00.000Z',
      type: 'step.retried',
      step: 'apply_claim',
      message: 'provider timed out, retrying',
    },
  ],
};

/** A provider of the simulated fleet, healthy unless told otherwise. */
export function provider(
  id: string,
  overrides: Partial<Omit<Schemas['Provider'], 'health'>> & {
    health?: Partial<Schemas['Provider']['health']>;
  } = {},
): Schemas['Provider'] {
  const { health, ...rest } = overrides;
  return {
    id,
    displayName: id,
    kind: 'aws',
    driver: 'simulated',
    ...rest,
    health: {
      score: 1,
      breaker: 'closed',
      calls: 0,
      failures: 0,
      errorRate: 0,
      latencyMs: 0,
      latencyByCell: {},
      ...health,
    },
  };
}

/** A cluster with nothing placed on it unless told otherwise. */
export function cluster(
  id: string,
  overrides: Partial<Schemas['Cluster']> = {},
): Schemas['Cluster'] {
  return {
    id,
    cell: 'cell-us',
    provider: 'aws',
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b'],
    version: '1.33',
    lifecycle: 'active',
    nodePools: [],
    capacity: { cpu: 96, memoryGi: 384, storageGi: 8192, maxResources: 80 },
    usage: { resources: 0, cpu: 0, memoryGi: 0, storageGi: 0, utilization: 0 },
    ...overrides,
  };
}

/** A text/event-stream body that sends `events` and then stays open. */
export function eventStream(
  events: Schemas['ResourceEvent'][],
  delayMs = 50,
): ReadableStream {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      setTimeout(() => {
        for (const e of events) {
          controller.enqueue(
            encoder.encode(`id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`),
          );
        }
      }, delayMs);
    },
  });
}
