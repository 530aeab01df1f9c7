import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { Duration } from 'luxon';
import { migrateUp } from '../database/migrations';
import { UnprocessableEntityError } from '../errors';
import { IdempotencyStore } from './IdempotencyStore';

const databases = TestDatabases.create();
const ana = 'user:default/ana';

describe.each(databases.eachSupportedId())(
  'IdempotencyStore on %s',
  databaseId => {
    async function setup(
      options?: ConstructorParameters<typeof IdempotencyStore>[1],
    ) {
      const knex = await databases.init(databaseId);
      await migrateUp(knex);
      return { knex, store: new IdempotencyStore(knex, options) };
    }

    it('replays the first response for the same key and request', async () => {
      const { store } = await setup();
      expect(await store.begin(ana, 'k1', 'fp')).toEqual({ kind: 'proceed' });
      await store.complete(ana, 'k1', 201, { ref: 'resource:default/db' });
      expect(await store.begin(ana, 'k1', 'fp')).toEqual({
        kind: 'replay',
        status: 201,
        body: { ref: 'resource:default/db' },
      });
    });

    it('refuses the same key with a different request (422)', async () => {
      const { store } = await setup();
      await store.begin(ana, 'k1', 'fp-a');
      await store.complete(ana, 'k1', 201, {});
      await expect(store.begin(ana, 'k1', 'fp-b')).rejects.toThrow(
        UnprocessableEntityError,
      );
    });

    it('answers 409 while the first request is in flight, and lets a retry run after a failure', async () => {
      const { store } = await setup();
      await store.begin(ana, 'k1', 'fp');
      await expect(store.begin(ana, 'k1', 'fp')).rejects.toThrow(ConflictError);
      await store.release(ana, 'k1');
      expect(await store.begin(ana, 'k1', 'fp')).toEqual({ kind: 'proceed' });
    });

    it('scopes keys per caller', async () => {
      const { store } = await setup();
      await store.begin(ana, 'k1', 'fp-a');
      expect(await store.begin('user:default/bruno', 'k1', 'fp-b')).toEqual({
        kind: 'proceed',
      });
    });

    it('lets exactly one of 50 concurrent first uses proceed', async () => {
      const { store } = await setup();
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => store.begin(ana, 'k-race', 'fp')),
      );
      const proceeded = results.filter(r => r.status === 'fulfilled');
      expect(proceeded).toHaveLength(1);
      for (const r of results.filter(x => x.status === 'rejected')) {
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(
          ConflictError,
        );
      }
    });

    it('lets a request take over a key whose holder stopped without answering', async () => {
      const { store } = await setup({ lease: Duration.fromMillis(50) });
      await store.begin(ana, 'k1', 'fp');
      await new Promise(r => setTimeout(r, 120));
      expect(await store.begin(ana, 'k1', 'fp')).toEqual({ kind: 'proceed' });
      await expect(store.begin(ana, 'k1', 'fp')).rejects.toThrow(ConflictError);
    });

    it('forgets keys after their retention', async () => {
      const { store, knex } = await setup({
        retention: Duration.fromMillis(50),
      });
      await store.begin(ana, 'k1', 'fp-a');
      await store.complete(ana, 'k1', 201, {});
      await new Promise(r => setTimeout(r, 120));
      expect(await store.begin(ana, 'k1', 'fp-b')).toEqual({ kind: 'proceed' });
      await store.complete(ana, 'k1', 201, {});
      await new Promise(r => setTimeout(r, 120));
      expect(await store.purgeExpired()).toBe(1);
      expect(
        Number((await knex('idempotency_keys').count({ n: '*' }))[0].n),
      ).toBe(0);
    });
  },
);
