import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import {
  context,
  MYSQL,
  patches,
  rejection,
  resource,
  startDriverOnFake,
  target,
} from './__testUtils__/driverOnFake';
import { KubernetesDriver } from './KubernetesDriver';

describe('KubernetesDriver', () => {
  let fake: FakeKubernetes;
  let driver: KubernetesDriver;

  beforeEach(async () => {
    ({ fake, driver } = await startDriverOnFake());
  });

  afterEach(() => fake.stop());

  describe('runOperation', () => {
    const backup = {
      type: 'backup' as const,
      step: 'snapshot',
      params: { label: 'nightly' },
    };

    it('requests the operation with an annotation that survives the next apply', async () => {
      await driver.apply(resource(), target, context());
      const applied = fake.get(...MYSQL, 'team-a', 'orders-db')!;

      await expect(
        driver.runOperation(
          backup,
          resource(),
          target,
          context('op-2:snapshot'),
        ),
      ).resolves.toEqual({
        requested: true,
        annotation: 'idp.multicloud/operation-backup',
      });
      const annotated = fake.get(...MYSQL, 'team-a', 'orders-db')!;
      expect(annotated.spec).toEqual(applied.spec);
      expect(annotated.metadata.labels).toEqual(applied.metadata.labels);
      const request = JSON.parse(
        annotated.metadata.annotations['idp.multicloud/operation-backup'],
      );
      expect(request).toEqual({
        step: 'snapshot',
        params: { label: 'nightly' },
        token: 'op-2:snapshot',
      });

      await driver.apply(resource(), target, context('op-3:apply_claim'));
      const claim = fake.get(...MYSQL, 'team-a', 'orders-db')!;
      expect(
        claim.metadata.annotations['idp.multicloud/operation-backup'],
      ).toBeDefined();
      expect(claim.spec.parameters).toEqual({ size: 'medium', storageGi: 100 });
    });

    it('does not repeat a step already requested under the same token', async () => {
      await driver.apply(resource(), target, context());
      await driver.runOperation(
        backup,
        resource(),
        target,
        context('op-2:snapshot'),
      );
      const before = patches(fake).length;
      await driver.runOperation(
        backup,
        resource(),
        target,
        context('op-2:snapshot'),
      );
      expect(patches(fake)).toHaveLength(before);
    });

    it('deletes the connection secret to rotate credentials, once', async () => {
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'orders-db-connection', namespace: 'team-a' },
        data: { password: 'c2VjcmV0' },
      };
      await driver.apply(resource(), target, context());
      fake.put(secret);
      await driver.runOperation(
        { type: 'rotate-credentials', step: 'rotate', params: {} },
        resource(),
        target,
        context('op-4:rotate'),
      );
      expect(
        fake.get('v1', 'Secret', 'team-a', 'orders-db-connection'),
      ).toBeUndefined();

      // the provider issues it anew; the next step must leave that one alone
      fake.put(secret);
      await driver.runOperation(
        { type: 'rotate-credentials', step: 'restart_consumers', params: {} },
        resource(),
        target,
        context('op-4:restart_consumers'),
      );
      expect(
        fake.get('v1', 'Secret', 'team-a', 'orders-db-connection'),
      ).toBeDefined();
      expect(
        fake.get(...MYSQL, 'team-a', 'orders-db')!.metadata.annotations,
      ).toHaveProperty(['idp.multicloud/operation-rotate-credentials']);
    });

    it('refuses an operation the product does not offer', async () => {
      const webapp = resource({ product: 'webapp' });
      const error = await rejection(
        driver.runOperation(
          { type: 'failover', step: 'promote', params: {} },
          webapp,
          target,
          context(),
        ),
      );
      expect(error.retryable).toBe(false);
    });
  });
});
