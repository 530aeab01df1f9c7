import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import {
  context,
  MYSQL,
  patches,
  resource,
  startDriverOnFake,
  target,
  TOKEN,
} from './__testUtils__/driverOnFake';
import { KubernetesDriver } from './KubernetesDriver';

describe('KubernetesDriver', () => {
  let fake: FakeKubernetes;
  let driver: KubernetesDriver;

  beforeEach(async () => {
    ({ fake, driver } = await startDriverOnFake());
  });

  afterEach(() => fake.stop());

  describe('apply', () => {
    it('creates the claim with server-side apply', async () => {
      const observed = await driver.apply(resource(), target, context());

      expect(observed).toEqual({
        phase: 'provisioning',
        conditions: [],
        params: { size: 'medium', storageGi: 100 },
        connectionSecretRef: 'orders-db-connection',
      });
      const [patch] = patches(fake);
      expect(patch).toMatchObject({
        path: '/apis/database.idp.multicloud/v1alpha1/namespaces/team-a/mysqlinstances/orders-db',
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'control-plane', force: 'true' },
        authorization: `Bearer ${TOKEN}`,
      });
      expect(fake.get(...MYSQL, 'team-a', 'orders-db')).toMatchObject({
        metadata: {
          name: 'orders-db',
          namespace: 'team-a',
          labels: {
            'app.kubernetes.io/part-of': 'checkout',
            'idp.multicloud/resource-uid': resource().uid,
            'idp.multicloud/tier': 'critical',
            'app.kubernetes.io/managed-by': 'control-plane',
          },
          annotations: {
            'idp.multicloud/trace-id': 'trace-42',
            'idp.multicloud/idempotency-token': 'op-1:apply_claim',
            'idp.multicloud/generation': '3',
          },
        },
        spec: {
          parameters: { size: 'medium', storageGi: 100 },
          compositionSelector: {
            matchLabels: { provider: 'aws', region: 'us-east-1' },
          },
          writeConnectionSecretToRef: { name: 'orders-db-connection' },
        },
      });
    });

    it('is idempotent, and updates what changed without touching the status', async () => {
      await driver.apply(resource(), target, context());
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', {
        conditions: [
          {
            type: 'Synced',
            status: 'True',
            lastTransitionTime: '2026-11-23T10:00:00Z',
          },
        ],
      });
      const first = fake.get(...MYSQL, 'team-a', 'orders-db')!;

      await driver.apply(resource(), target, context());
      expect(fake.get(...MYSQL, 'team-a', 'orders-db')).toEqual(first);

      const observed = await driver.apply(
        resource({ generation: 4, params: { size: 'large', storageGi: 100 } }),
        target,
        context('op-2:apply_claim'),
      );
      const updated = fake.get(...MYSQL, 'team-a', 'orders-db')!;
      expect(updated.spec.parameters).toEqual({
        size: 'large',
        storageGi: 100,
      });
      expect(updated.metadata.generation).toBe(first.metadata.generation + 1);
      expect(updated.metadata.annotations['idp.multicloud/generation']).toBe(
        '4',
      );
      expect(observed.conditions).toEqual([
        {
          type: 'Synced',
          status: 'True',
          lastTransitionTime: '2026-11-23T10:00:00Z',
        },
      ]);
    });

    it('maps each product to its claim kind', async () => {
      await driver.apply(
        resource({ name: 'cache', product: 'redis', params: {} }),
        target,
        context(),
      );
      expect(patches(fake)[0].path).toBe(
        '/apis/cache.idp.multicloud/v1alpha1/namespaces/team-a/rediscaches/cache',
      );
    });
  });

  describe('apisInUse', () => {
    it('names the claim and the NetworkPolicy it applies, for an upgrade pre-flight', async () => {
      expect(
        await driver.apisInUse(
          resource({ name: 'cache', product: 'redis', params: {} }),
          target,
        ),
      ).toEqual([
        'cache.idp.multicloud/v1alpha1/RedisCache',
        'networking.k8s.io/v1/NetworkPolicy',
      ]);
    });
  });

  describe('observe', () => {
    it('reports a missing claim as absent', async () => {
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toEqual({
        phase: 'absent',
      });
    });

    it('reads readiness from the conditions a controller sets', async () => {
      await driver.apply(resource(), target, context());
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', {
        conditions: [
          {
            type: 'Synced',
            status: 'True',
            reason: 'ReconcileSuccess',
            lastTransitionTime: '2026-11-23T10:00:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Available',
            lastTransitionTime: '2026-11-23T10:05:00Z',
          },
        ],
      });
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toMatchObject({
        phase: 'ready',
        params: { size: 'medium', storageGi: 100 },
        conditions: [
          {
            type: 'Synced',
            status: 'True',
            reason: 'ReconcileSuccess',
            lastTransitionTime: '2026-11-23T10:00:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Available',
            lastTransitionTime: '2026-11-23T10:05:00Z',
          },
        ],
      });

      fake.setStatus(...MYSQL, 'team-a', 'orders-db', {
        conditions: [
          {
            type: 'Synced',
            status: 'False',
            reason: 'ReconcileError',
            message: 'quota exceeded',
            lastTransitionTime: '2026-11-23T11:00:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Available',
            lastTransitionTime: '2026-11-23T10:05:00Z',
          },
        ],
      });
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toMatchObject({
        phase: 'degraded',
        message: 'quota exceeded',
      });
    });
  });

  describe('delete', () => {
    it('deletes in the foreground, and deleting what is gone succeeds', async () => {
      await driver.apply(resource(), target, context());

      await driver.delete(resource(), target, context('op-9:delete'));
      const request = fake.requests.find(r => r.method === 'DELETE')!;
      expect(request.query.propagationPolicy).toBe('Foreground');
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toMatchObject({
        phase: 'deleting',
      });

      fake.finishDeletion(...MYSQL, 'team-a', 'orders-db');
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toEqual({
        phase: 'absent',
      });
      await expect(
        driver.delete(resource(), target, context('op-9:delete')),
      ).resolves.toBeUndefined();
    });
  });
});
