import { argoVerdict, fluxVerdict, inventoryId } from './verdict';
import { revisionSha } from './GitOpsDelivery';
import { RenderedObject } from './render';

const objects: RenderedObject[] = [
  {
    apiVersion: 'apps.idp.multicloud/v1alpha1',
    kind: 'WebApp',
    metadata: { name: 'web', namespace: 'shop' },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-ingress', namespace: 'shop' },
  },
];

const listed = (status: string, health?: string) =>
  objects.map(o => ({
    group: o.apiVersion.split('/')[0],
    kind: o.kind,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    status,
    // NetworkPolicy has no health in Argo CD
    ...(health && o.kind !== 'NetworkPolicy'
      ? { health: { status: health } }
      : {}),
  }));

const app = (resources: any[], automated = true) => ({
  metadata: { name: 'idp-aws' },
  spec: { syncPolicy: automated ? { automated: {} } : {} },
  status: { sync: { status: 'Synced', revision: 'abc' }, resources },
});

describe('argoVerdict', () => {
  it.each([
    [
      'all Synced and Healthy',
      listed('Synced', 'Healthy'),
      'Synced',
      'Healthy',
      true,
    ],
    [
      'one OutOfSync',
      listed('OutOfSync', 'Healthy'),
      'OutOfSync',
      'Healthy',
      false,
    ],
    [
      'Synced but Progressing',
      listed('Synced', 'Progressing'),
      'Synced',
      'Progressing',
      false,
    ],
    [
      'Synced but Degraded',
      listed('Synced', 'Degraded'),
      'Synced',
      'Degraded',
      false,
    ],
    ['not listed yet', [], 'OutOfSync', 'Missing', false],
    [
      'objects without health only count their sync',
      listed('Synced'),
      'Synced',
      'Healthy',
      true,
    ],
  ])('%s', (_, resources, sync, health, inSync) => {
    expect(argoVerdict(app(resources), objects)).toMatchObject({
      tool: 'argocd',
      application: 'idp-aws',
      sync,
      health,
      inSync,
      revision: 'abc',
      held: false,
    });
  });

  it('says the application is held when auto-sync is off', () => {
    expect(argoVerdict(app(listed('Synced'), false), objects).held).toBe(true);
  });
});

describe('fluxVerdict', () => {
  const inventory = {
    entries: objects.map(o => ({ id: inventoryId(o), v: 'v1' })),
  };
  const kustomization = (ready: any, entries = inventory) => ({
    metadata: { name: 'idp-aws', namespace: 'flux-system' },
    status: {
      conditions: ready ? [{ type: 'Ready', ...ready }] : [],
      inventory: entries,
    },
  });

  it('writes inventory ids as Flux does', () => {
    expect(objects.map(inventoryId)).toEqual([
      'shop_web_apps.idp.multicloud_WebApp',
      'shop_web-ingress_networking.k8s.io_NetworkPolicy',
    ]);
  });

  it.each([
    [
      'Ready=True with the objects applied',
      { status: 'True' },
      inventory,
      'Synced',
      'Healthy',
      true,
    ],
    [
      'Ready=True without the objects yet',
      { status: 'True' },
      { entries: [] },
      'OutOfSync',
      'Progressing',
      false,
    ],
    [
      'Ready=False, health check failed',
      { status: 'False', reason: 'HealthCheckFailed' },
      inventory,
      'OutOfSync',
      'Degraded',
      false,
    ],
    [
      'Ready=Unknown, reconciling',
      { status: 'Unknown', reason: 'Progressing' },
      inventory,
      'Unknown',
      'Progressing',
      false,
    ],
    [
      'no Ready condition yet',
      undefined,
      inventory,
      'Unknown',
      'Progressing',
      false,
    ],
  ])('%s', (_, ready, entries, sync, health, inSync) => {
    expect(fluxVerdict(kustomization(ready, entries), objects)).toMatchObject({
      tool: 'flux',
      application: 'flux-system/idp-aws',
      sync,
      health,
      inSync,
    });
  });
});

describe('the commit a tool applied', () => {
  const sha = '0123456789abcdef0123456789abcdef01234567';
  it.each([
    [sha, sha],
    [`main@sha1:${sha}`, sha],
    [`main/${sha}`, sha],
    ['HEAD', undefined],
    ['main', undefined],
    [undefined, undefined],
    [`--output=${sha}x`, undefined],
  ])('reads %s as %s', (revision, expected) => {
    expect(revisionSha(revision)).toBe(expected);
  });
});
