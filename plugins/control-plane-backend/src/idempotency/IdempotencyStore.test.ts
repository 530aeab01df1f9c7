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

    const proceed = { kind: 'proceed', lease: expect.any(String) };
    const lease = async (
      store: IdempotencyStore,
      key: string,
      fingerprint: string,
    ) => {
      const decision = await store.begin(ana, key, fingerprint);
      if (decision.kind !== 'proceed') throw new Error('expected proceed');
      return decision.lease;
    };

    it('replays the first response for the same key and request', async () => {
      const { store } = await setup();
      const first = await store.begin(ana, 'k1', 'fp');
      expect(first).toEqual(proceed);
      expect(await store.peek(ana, 'k1', 'fp')).toBeUndefined();
      await store.complete(ana, 'k1', (first as { lease: string }).lease, 201, {
        ref: 'resource:default/db',
      });
      expect(await store.peek(ana, 'k1', 'fp')).toEqual({
        kind: 'replay',
        status: 201,
        body: { ref: 'resource:default/db' },
      });
      expect(await store.begin(ana, 'k1', 'fp')).toEqual({
        kind: 'replay',
        status: 201,
        body: { ref: 'resource:default/db' },
      });
    });

    it('refuses the same key with a different request (422)', async () => {
      const { store } = await setup();
      await store.complete(
        ana,
        'k1',
        await lease(store, 'k1', 'fp-a'),
        201,
        {},
      );
      await expect(store.begin(ana, 'k1', 'fp-b')).rejects.toThrow(
        UnprocessableEntityError,
      );
      await expect(store.peek(ana, 'k1', 'fp-b')).rejects.toThrow(
        UnprocessableEntityError,
      );
    });

    it('answers 409 while the first request is in flight, and lets a retry run after a failure', async () => {
      const { store } = await setup();
      const held = await lease(store, 'k1', 'fp');
      await expect(store.begin(ana, 'k1', 'fp')).rejects.toThrow(ConflictError);
      await store.release(ana, 'k1', held);
      expect(await store.begin(ana, 'k1', 'fp')).toEqual(proceed);
    });

    it('scopes keys per caller', async () => {
      const { store } = await setup();
      await store.begin(ana, 'k1', 'fp-a');
      expect(await store.begin('user:default/bruno', 'k1', 'fp-b')).toEqual(
        proceed,
      );
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
      expect(await store.begin(ana, 'k1', 'fp')).toEqual(proceed);
      await expect(store.begin(ana, 'k1', 'fp')).rejects.toThrow(ConflictError);
    });

    it('keeps the answer of the request that took a key over from one whose lease lapsed', async () => {
      const { store } = await setup({ lease: Duration.fromMillis(50) });
      const stale = await lease(store, 'k1', 'fp');
      await new Promise(r => setTimeout(r, 120));
      const retry = await lease(store, 'k1', 'fp');
      // The retry answers first; the stale holder, finishing late, records nothing.
      expect(await store.complete(ana, 'k1', retry, 201, { by: 'retry' })).toBe(
        true,
      );
      expect(await store.complete(ana, 'k1', stale, 500, { by: 'stale' })).toBe(
        false,
      );
      await store.release(ana, 'k1', stale);
      expect(await store.begin(ana, 'k1', 'fp')).toEqual({
        kind: 'replay',
        status: 201,
        body: { by: 'retry' },
      });
    });

    it('lets a stale holder neither complete nor free a key still in flight under a retry', async () => {
      const { store } = await setup({ lease: Duration.fromMillis(50) });
      const stale = await lease(store, 'k1', 'fp');
      await new Promise(r => setTimeout(r, 120));
      await lease(store, 'k1', 'fp');
      expect(await store.complete(ana, 'k1', stale, 201, {})).toBe(false);
      await store.release(ana, 'k1', stale);
      // Still held by the retry: a third request waits.
      await expect(store.begin(ana, 'k1', 'fp')).rejects.toThrow(ConflictError);
    });

    it('forgets keys after their retention', async () => {
      const { store, knex } = await setup({
        retention: Duration.fromMillis(50),
      });
      await store.complete(
        ana,
        'k1',
        await lease(store, 'k1', 'fp-a'),
        201,
        {},
      );
      await new Promise(r => setTimeout(r, 120));
      expect(await store.peek(ana, 'k1', 'fp-b')).toBeUndefined();
      await store.complete(
        ana,
        'k1',
        await lease(store, 'k1', 'fp-b'),
        201,
        {},
      );
      await new Promise(r => setTimeout(r, 120));
      expect(await store.purgeExpired()).toBe(1);
      expect(
        Number((await knex('idempotency_keys').count({ n: '*' }))[0].n),
      ).toBe(0);
    });
  },
);
