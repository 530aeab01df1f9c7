import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import {
  context,
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

  describe('errors', () => {
    it.each([429, 500, 502, 503, 504])('retries on %s', async code => {
      fake.fail({
        method: 'PATCH',
        code,
        message: 'etcdserver: request timed out',
      });
      const error = await rejection(
        driver.apply(resource(), target, context()),
      );
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('etcdserver: request timed out');
    });

    it.each([
      [400, 'BadRequest'],
      [403, 'Forbidden'],
      [409, 'Conflict'],
      [422, 'Invalid'],
    ])(
      'does not retry on %s, and carries the API message',
      async (code, reason) => {
        const message = `MySQLInstance.database.idp.multicloud "orders-db" is invalid: spec.parameters.storageGi: Invalid value: 0`;
        fake.fail({ method: 'PATCH', code, message });
        const error = await rejection(
          driver.apply(resource(), target, context()),
        );
        expect(error.retryable).toBe(false);
        expect(error.code).toBe(reason);
        expect(error.message).toContain(message);
        expect(error.message).toContain('aws-us-east-1');
      },
    );

    it('does not retry a 404 where the object must exist', async () => {
      const error = await rejection(
        driver.runOperation(
          { type: 'backup', step: 'snapshot', params: {} },
          resource(),
          target,
          context(),
        ),
      );
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('does not exist');
    });

    it('retries when the API server cannot be reached', async () => {
      const url = fake.url;
      await fake.stop();
      const unreachable = new KubernetesDriver({
        clusters: [
          { name: 'aws-us-east-1', url, token: TOKEN, skipTLSVerify: true },
        ],
      });
      const error = await rejection(
        unreachable.observe(resource(), target, context()),
      );
      expect(error.retryable).toBe(true);
      fake = await FakeKubernetes.start();
    });

    it('gives up a request when the call is aborted', async () => {
      await driver.observe(resource(), target, context()); // discovery cached
      fake.fail({ method: 'GET', path: '/mysqlinstances/', code: 'hang' });
      const controller = new AbortController();
      const pending = driver.observe(
        resource(),
        target,
        context('t', controller.signal),
      );
      setTimeout(() => controller.abort(), 20);
      const error = await rejection(pending);
      expect(error).toMatchObject({ retryable: true, code: 'Aborted' });
    });

    it('refuses a cluster that is not configured, naming it', async () => {
      const elsewhere = { ...target, cluster: 'gcp-europe-west1' };
      for (const call of [
        driver.plan(resource(), elsewhere, context()),
        driver.apply(resource(), elsewhere, context()),
      ]) {
        const error = await rejection(call);
        expect(error.retryable).toBe(false);
        expect(error.message).toContain("'gcp-europe-west1'");
      }
      expect(fake.requests).toEqual([]);
    });

    it('plans only products that have a claim mapping', async () => {
      await expect(
        driver.plan(resource(), target, context()),
      ).resolves.toBeUndefined();
      const error = await rejection(
        driver.plan(resource({ product: 'mongodb' }), target, context()),
      );
      expect(error.retryable).toBe(false);
      expect(error.message).toContain("'mongodb'");
      expect(fake.requests).toEqual([]);
    });

    it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
      'finds no claim mapping for a product named %s, and sends nothing',
      async product => {
        for (const call of [
          driver.plan(resource({ product }), target, context()),
          driver.apply(resource({ product }), target, context()),
        ]) {
          const error = await rejection(call);
          expect(error).toMatchObject({
            retryable: false,
            code: 'UnsupportedProduct',
          });
          expect(error.message).toContain(`'${product}' has no claim mapping`);
        }
        expect(fake.requests).toEqual([]);
      },
    );
  });
});
