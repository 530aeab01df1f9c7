import {
  ApiException,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { FakeKubernetes } from './fakeKubernetes';

/** The fake must answer like the API server, through the real client, or the driver's tests prove nothing. */
describe('FakeKubernetes', () => {
  let fake: FakeKubernetes;
  let api: KubernetesObjectApi;

  beforeEach(async () => {
    fake = await FakeKubernetes.start();
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser(
      { name: 'fake', server: fake.url, skipTLSVerify: true },
      { name: 'user' },
    );
    api = KubernetesObjectApi.makeApiClient(kc);
  });
  afterEach(() => fake.stop());

  const claim = (name: string, tier: string, spec: object = {}) => ({
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'MySQLInstance',
    metadata: { name, namespace: 'team-a', labels: { tier } },
    spec,
  });
  const apply = (object: KubernetesObject, manager: string, force?: boolean) =>
    api.patch(
      object,
      undefined,
      undefined,
      manager,
      force,
      PatchStrategy.ServerSideApply,
    );
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: ApiException<string>) => ({ code: e.code, ...JSON.parse(e.body) }),
    );

  it('lists a collection, filtered by labels', async () => {
    await apply(claim('a', 'critical'), 'control-plane');
    await apply(claim('b', 'low'), 'control-plane');
    const list = await api.list(
      'database.idp.multicloud/v1alpha1',
      'MySQLInstance',
      'team-a',
      undefined,
      undefined,
      undefined,
      undefined,
      'tier=critical',
    );
    expect(list.items.map(i => i.metadata?.name)).toEqual(['a']);
  });

  it('answers a conflicting apply without force with 409, and lets force take the field over', async () => {
    await apply(claim('a', 'critical', { size: 'small' }), 'control-plane');
    await expect(
      failure(apply(claim('a', 'critical', { size: 'large' }), 'kubectl')),
    ).resolves.toMatchObject({ code: 409, kind: 'Status', reason: 'Conflict' });

    await apply(claim('a', 'critical', { size: 'large' }), 'kubectl', true);
    expect(
      fake.get(
        'database.idp.multicloud/v1alpha1',
        'MySQLInstance',
        'team-a',
        'a',
      )?.spec,
    ).toEqual({
      size: 'large',
    });
  });

  it('answers 404 for a missing object, as a Status', async () => {
    await expect(
      failure(api.read(claim('nope', 'low'))),
    ).resolves.toMatchObject({
      code: 404,
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      message: 'mysqlinstances.database.idp.multicloud "nope" not found',
    });
  });
});
