import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import {
  context,
  MYSQL,
  rejection,
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

  describe('awaitPhase (list, then watch)', () => {
    const readyStatus = {
      conditions: [
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
        { type: 'Ready', status: 'True', reason: 'Available' },
      ],
    };
    const watches = () => fake.requests.filter(r => r.query.watch === 'true');
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise(r => setTimeout(r, 5));
    };

    it('lists the claim, then resolves on the watched change that makes it ready', async () => {
      await driver.apply(resource(), target, context());
      const ready = driver.awaitPhase(
        resource(),
        target,
        ['ready', 'failed'],
        context('op-1:wait_ready'),
      );
      await until(() => fake.watches === 1);
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', readyStatus);
      await expect(ready).resolves.toMatchObject({ phase: 'ready' });

      const [list] = fake.requests.filter(
        r =>
          r.method === 'GET' &&
          r.path.endsWith('/mysqlinstances') &&
          r.query.watch === undefined,
      );
      expect(list.query.fieldSelector).toBe('metadata.name=orders-db');
      const [watch] = watches();
      expect(watch).toMatchObject({
        path: '/apis/database.idp.multicloud/v1alpha1/namespaces/team-a/mysqlinstances',
        query: {
          fieldSelector: 'metadata.name=orders-db',
          resourceVersion: expect.stringMatching(/^\d+$/),
        },
        authorization: `Bearer ${TOKEN}`,
      });
      // nothing polled the claim; the watch was closed once the phase was reached
      expect(
        fake.requests.filter(r => r.path.endsWith('/orders-db')),
      ).toHaveLength(1); // the apply
      await until(() => fake.watches === 0);
    });

    it('resolves at once when the claim already is in a wanted phase', async () => {
      await driver.apply(resource(), target, context());
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', readyStatus);
      await expect(
        driver.awaitPhase(resource(), target, ['ready'], context()),
      ).resolves.toMatchObject({ phase: 'ready' });
      expect(watches()).toEqual([]);
    });

    it('reads a watched deletion as absent', async () => {
      await driver.apply(resource(), target, context());
      await driver.delete(resource(), target, context('op-9:delete_claim'));
      const gone = driver.awaitPhase(
        resource(),
        target,
        ['absent'],
        context('op-9:wait_absent'),
      );
      await until(() => fake.watches === 1);
      fake.finishDeletion(...MYSQL, 'team-a', 'orders-db');
      await expect(gone).resolves.toEqual({ phase: 'absent' });
    });

    it('lists again when the watch expired (410 Gone), and still sees the change', async () => {
      await driver.apply(resource(), target, context());
      const ready = driver.awaitPhase(resource(), target, ['ready'], context());
      await until(() => fake.watches === 1);
      fake.expireWatches();
      await until(() => watches().length === 2 && fake.watches === 1);
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', readyStatus);
      await expect(ready).resolves.toMatchObject({ phase: 'ready' });
      const [first, second] = watches();
      expect(Number(second.query.resourceVersion)).toBeGreaterThanOrEqual(
        Number(first.query.resourceVersion),
      );
    });

    it('stops watching when the call is aborted', async () => {
      await driver.apply(resource(), target, context());
      const controller = new AbortController();
      const waiting = driver.awaitPhase(
        resource(),
        target,
        ['ready'],
        context('op-1:wait_ready', controller.signal),
      );
      await until(() => fake.watches === 1);
      controller.abort(new Error('cancelled'));
      await expect(waiting).rejects.toThrow('cancelled');
      await until(() => fake.watches === 0);
    });

    it('gives a throttled watch as a retryable error', async () => {
      await driver.apply(resource(), target, context());
      fake.fail({ method: 'GET', path: '/mysqlinstances', code: 429 });
      // the list is throttled first
      const error = await rejection(
        driver.awaitPhase(resource(), target, ['ready'], context()),
      );
      expect(error.retryable).toBe(true);
    });
  });
});
