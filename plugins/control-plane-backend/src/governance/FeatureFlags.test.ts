import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  callAs,
  fastSimulator,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import { resolveFlag, scopeKey } from './FeatureFlags';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

describe('resolveFlag', () => {
  const values = new Map([
    ['global', true],
    ['tier:low', false],
    ['cell:cell-eu', true],
    ['cell:cell-eu/tier:low', false],
    ['cell:cell-ap', false],
  ]);
  it.each<[{ cell?: string; tier?: string }, boolean | undefined]>([
    [{ cell: 'cell-eu', tier: 'low' }, false], // cell and tier
    [{ cell: 'cell-eu', tier: 'high' }, true], // cell
    [{ cell: 'cell-ap', tier: 'low' }, false], // cell beats tier
    [{ cell: 'cell-us', tier: 'low' }, false], // tier
    [{ cell: 'cell-us', tier: 'high' }, true], // global
    [{}, true],
  ])('at %j: %s', (at, value) => {
    expect(resolveFlag(values, at)).toBe(value);
  });

  it('is undefined where no scope sets it', () => {
    expect(
      resolveFlag(new Map([['cell:cell-eu', true]]), { cell: 'cell-us' }),
    ).toBe(undefined);
  });

  it.each([
    [{}, 'global'],
    [{ cell: 'cell-us' }, 'cell:cell-us'],
    [{ tier: 'low' as const }, 'tier:low'],
    [{ cell: 'cell-us', tier: 'low' as const }, 'cell:cell-us/tier:low'],
  ])('keys the scope %j as %s', (scope, key) => {
    expect(scopeKey(scope)).toBe(key);
  });
});

describe.each(databases.eachSupportedId())(
  'feature flags on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>> | undefined;
    afterEach(async () => {
      await cp?.cleanup();
      cp = undefined;
    });

    const api = (user = users.ana) => callAs(cp!.server, user);

    it('are managed by platform engineers through the API, audited, and refuse bad input naming the field', async () => {
      cp = await startControlPlane(databases, databaseId);
      const a = api();
      const listed = await a.get('/flags');
      expect(listed.status).toBe(200);
      expect(
        listed.body.items.map((f: any) => [f.name, f.default, f.values]),
      ).toEqual([
        ['drift.autoCorrect', true, []],
        ['placement.experiments', true, []],
      ]);

      // A developer may neither set nor read them.
      const bruno = api(users.bruno);
      expect(
        (await bruno.put('/flags/drift.autoCorrect', { value: false })).status,
      ).toBe(403);
      expect((await bruno.get('/flags')).status).toBe(403);

      const unknown = await a.put('/flags/warp.drive', { value: true });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.message).toBe(
        'No feature flag warp.drive (known: drift.autoCorrect, placement.experiments)',
      );
      const badValue = await a.put('/flags/drift.autoCorrect', { value: 'no' });
      expect(badValue.status).toBe(400);
      expect(badValue.body.error.message).toContain('value');
      const badTier = await a.put('/flags/drift.autoCorrect', {
        value: false,
        scope: { tier: 'gold' },
      });
      expect(badTier.status).toBe(400);
      expect(badTier.body.error.message).toContain('scope.tier');

      const set = await a.put('/flags/drift.autoCorrect', {
        value: false,
        scope: { cell: 'cell-eu', tier: 'low' },
      });
      expect(set.status).toBe(200);
      expect(set.body.values).toEqual([
        {
          scope: { cell: 'cell-eu', tier: 'low' },
          value: false,
          updatedBy: users.ana,
          updatedAt: expect.any(String),
        },
      ]);
      expect((await a.get('/flags/drift.autoCorrect')).body).toEqual(set.body);
      const unset = await a.delete(
        '/flags/drift.autoCorrect?cell=cell-eu&tier=low',
      );
      expect(unset.status).toBe(200);
      expect(unset.body.values).toEqual([]);

      const audit = (await a.get('/audit?target=flag:drift.autoCorrect')).body
        .items;
      expect(
        audit.map((e: any) => [e.action, e.outcome, e.actor, e.reason]),
      ).toEqual([
        [
          'flag.unset',
          'accepted',
          users.ana,
          'cell:cell-eu/tier:low: value removed',
        ],
        ['flag.set', 'accepted', users.ana, 'false in cell:cell-eu/tier:low'],
        [
          'flag.set',
          'rejected',
          users.ana,
          expect.stringContaining('400: scope.tier'),
        ],
        [
          'flag.set',
          'rejected',
          users.ana,
          expect.stringMatching(/^400: value/),
        ],
        ['flag.set', 'rejected', users.bruno, expect.stringMatching(/^403: /)],
      ]);
    });

    it('turn drift auto-correct off and on per cell, taking effect at the next drift check without a restart', async () => {
      cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        features: [simulatorModule],
        controlPlane: {
          simulator: fastSimulator,
        },
      });
      const a = api();
      const resource = (name: string, cell: string) => ({
        name,
        product: 'redis',
        owner: 'group:default/payments',
        tier: 'medium',
        cell,
        params: { size: 'small' },
      });
      await a.post('/resources', resource('us-cache', 'cell-us')).expect(201);
      await a.post('/resources', resource('eu-cache', 'cell-eu')).expect(201);
      for (const name of ['us-cache', 'eu-cache']) {
        await until(
          async () =>
            (await a.get(`/resources/default/${name}`)).body.status?.state ===
            'READY',
          `${name} READY`,
        );
      }
      const drift = async () => {
        for (const name of ['us-cache', 'eu-cache']) {
          await a
            .post('/simulator/drift', {
              ref: `resource:default/${name}`,
              params: { persistence: 'none' },
            })
            .expect(200);
        }
        const pass = await a.post('/reconciler/run', { drift: true });
        expect(pass.status).toBe(200);
        return Object.fromEntries(
          pass.body.drift.drifted.map((d: any) => [d.ref, d.corrected]),
        );
      };

      // Off in cell-us: its drift is reported, cell-eu's corrected.
      await a
        .put('/flags/drift.autoCorrect', {
          value: false,
          scope: { cell: 'cell-us' },
        })
        .expect(200);
      expect(await drift()).toEqual({
        'resource:default/us-cache': false,
        'resource:default/eu-cache': true,
      });
      expect(
        (await a.get('/resources/default/us-cache')).body.status.conditions,
      ).toContainEqual(
        expect.objectContaining({ type: 'Drifted', reason: 'Reported' }),
      );

      // Back on: the next check corrects it.
      await until(
        async () =>
          (await a.get('/resources/default/eu-cache')).body.status?.state ===
            'READY' &&
          (
            await a.get('/resources/default/eu-cache/operations')
          ).body.items.every((o: any) => o.state === 'succeeded'),
        'the correction of eu-cache to finish',
      );
      await a
        .put('/flags/drift.autoCorrect', {
          value: true,
          scope: { cell: 'cell-us' },
        })
        .expect(200);
      expect((await drift())['resource:default/us-cache']).toBe(true);
    });
  },
);
