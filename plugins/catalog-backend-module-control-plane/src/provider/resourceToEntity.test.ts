import type { Resource } from '@idp-multicloud/sdk';
import { resourceToEntity } from './resourceToEntity';

const webapp = (
  version: string | undefined,
  running: string | undefined,
): Resource => ({
  ref: 'resource:default/checkout',
  metadata: { name: 'checkout', namespace: 'default', labels: {} },
  spec: {
    product: 'webapp',
    tier: 'high',
    cell: 'cell-us',
    owner: 'group:default/payments',
    component: 'component:default/checkout',
    dependsOn: [],
    params: version ? { image: 'ghcr.io/acme/checkout', version } : {},
  },
  status: {
    state: 'READY',
    conditions: [],
    createdAt: '2026-11-01T10:00:00.000Z',
    updatedAt: '2026-11-01T10:05:00.000Z',
    generation: 2,
    observedGeneration: 2,
    ...(running ? { version: running } : {}),
  },
});

describe('resourceToEntity: the running version', () => {
  it.each([
    {
      case: 'a resource running the version it asks for',
      desired: '1.0.0',
      running: '1.0.0',
      annotations: { 'idp.multicloud/version': '1.0.0' },
    },
    {
      case: 'a resource rolling out a new version',
      desired: '1.1.0',
      running: '1.0.0',
      annotations: {
        'idp.multicloud/version': '1.0.0',
        'idp.multicloud/desired-version': '1.1.0',
      },
    },
    {
      case: 'a resource not running yet',
      desired: '1.0.0',
      running: undefined,
      annotations: { 'idp.multicloud/desired-version': '1.0.0' },
    },
    {
      case: 'a product without versions',
      desired: undefined,
      running: undefined,
      annotations: {},
    },
  ])('$case', ({ desired, running, annotations }) => {
    const entity = resourceToEntity(webapp(desired, running));
    const versions = Object.fromEntries(
      Object.entries(entity.metadata.annotations ?? {}).filter(([k]) =>
        k.includes('version'),
      ),
    );
    expect(versions).toEqual(annotations);
  });
});
