import { TestDatabases } from '@backstage/backend-test-utils';
import { callAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

const mysql = (name: string, team: string) => ({
  name,
  product: 'mysql',
  owner: `group:default/${team}`,
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
});

const webapp = (name: string, team: string, dependsOn: string[] = []) => ({
  name,
  product: 'webapp',
  owner: `group:default/${team}`,
  tier: 'medium',
  cell: 'cell-us',
  params: { image: 'ghcr.io/acme/app', version: '1.0.0' },
  dependsOn,
});

const manifest = (
  name: string,
  team: string,
  product: 'mysql' | 'webapp',
  dependsOn: string[] = [],
) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: ${name}, namespace: default }
spec:
  product: ${product}
  owner: group:default/${team}
  tier: medium
  cell: cell-us
  params: ${
    product === 'mysql'
      ? '{ size: small }'
      : '{ image: ghcr.io/acme/app, version: 1.0.0 }'
  }
  dependsOn: [${dependsOn.join(', ')}]
`;

/** An answer, as a caller sees it: its status and its error message with `name` as NAME. */
const seen = (res: { status: number; body: any }, name: string) => ({
  status: res.status,
  message: String(res.body?.error?.message ?? '').replaceAll(name, 'NAME'),
});

/**
 * References are authorized like reads: what bruno (a developer in payments) cannot read,
 * platform's resources, does not exist for him. ana may do everything.
 */
describe.each(databases.eachSupportedId())(
  'what a caller cannot read does not exist for it, on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    let ana: ReturnType<typeof callAs>;
    let bruno: ReturnType<typeof callAs>;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
      ana = callAs(cp.server, users.ana);
      bruno = callAs(cp.server, users.bruno);
      await ana
        .post('/resources', mysql('platform-db', 'platform'))
        .expect(201);
      await bruno
        .post('/resources', mysql('payments-db', 'payments'))
        .expect(201);
    });
    afterEach(() => cp.cleanup());

    it('refuses a dependsOn on an unreadable resource exactly as one on a missing resource, and the owner can still delete theirs', async () => {
      const hidden = await bruno.post(
        '/resources',
        webapp('checkout', 'payments', ['default/platform-db']),
      );
      const missing = await bruno.post(
        '/resources',
        webapp('checkout', 'payments', ['default/nothing-db']),
      );
      expect(seen(hidden, 'platform-db')).toEqual(seen(missing, 'nothing-db'));
      expect(hidden.status).toBe(400);
      expect(hidden.body.error.message).toContain('dependsOn.0');

      // The same through an update and through manifests.
      await bruno
        .post('/resources', webapp('checkout', 'payments'))
        .expect(201);
      const patch = (dep: string) =>
        bruno.patch('/resources/default/checkout', { dependsOn: [dep] });
      expect(seen(await patch('default/platform-db'), 'platform-db')).toEqual(
        seen(await patch('default/nothing-db'), 'nothing-db'),
      );
      const developer = bruno;
      for (const path of ['/manifests/plan', '/manifests/apply']) {
        const apply = (dep: string) =>
          developer.post(path, {
            yaml: manifest('orders', 'payments', 'webapp', [dep]),
          });
        const refused = await apply('default/platform-db');
        expect(refused.status).toBe(400);
        expect(seen(refused, 'platform-db')).toEqual(
          seen(await apply('default/nothing-db'), 'nothing-db'),
        );
      }

      // Nothing depends on platform-db: its owner deletes it.
      await ana.delete('/resources/default/platform-db').expect(202);
    });

    it('answers 404 on every resource route for an unreadable resource, as for a missing one', async () => {
      const calls: [string, (name: string) => Promise<any>][] = [
        ['get', n => bruno.get(`/resources/default/${n}`)],
        ['status', n => bruno.get(`/resources/default/${n}/status`)],
        ['history', n => bruno.get(`/resources/default/${n}/history`)],
        ['placement', n => bruno.get(`/resources/default/${n}/placement`)],
        ['blockers', n => bruno.get(`/resources/default/${n}/blockers`)],
        ['operations', n => bruno.get(`/resources/default/${n}/operations`)],
        ['cost', n => bruno.get(`/resources/default/${n}/cost`)],
        [
          'events',
          n =>
            bruno
              .get(`/resources/default/${n}/events`)
              .set('accept', 'application/json'),
        ],
        [
          'update',
          n => bruno.patch(`/resources/default/${n}`, { labels: { a: 'b' } }),
        ],
        ['delete', n => bruno.delete(`/resources/default/${n}`)],
        [
          'delete with cascade',
          n => bruno.delete(`/resources/default/${n}?cascade=true`),
        ],
        ['retry', n => bruno.post(`/resources/default/${n}/retry`)],
        [
          'operate',
          n =>
            bruno.post(`/resources/default/${n}/operations`, {
              type: 'backup',
            }),
        ],
      ];
      for (const [what, call] of calls) {
        const hidden = seen(await call('platform-db'), 'platform-db');
        const missing = seen(await call('nothing-db'), 'nothing-db');
        expect({ what, ...hidden }).toEqual({ what, ...missing });
        expect({ what, status: hidden.status }).toEqual({ what, status: 404 });
      }
      // An operation on it: as an operation that does not exist.
      const op = await ana
        .post('/resources/default/platform-db/operations', { type: 'backup' })
        .expect(202);
      const none = '00000000-0000-4000-8000-000000000000';
      const developer = bruno;
      for (const suffix of ['', '/cancel', '/retry']) {
        const call = (id: string) =>
          suffix
            ? developer.post(`/operations/${id}${suffix}`)
            : developer.get(`/operations/${id}`);
        expect(seen(await call(op.body.id), op.body.id)).toEqual(
          seen(await call(none), none),
        );
      }
    });

    it('never names an unreadable dependent: deletion conflicts, cascades, prune and validation issues', async () => {
      // ana's app depends on bruno's database: bruno cannot read the app.
      await ana
        .post(
          '/resources',
          webapp('platform-app', 'platform', ['default/payments-db']),
        )
        .expect(201);

      const refused = await bruno.delete('/resources/default/payments-db');
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain(
        'a resource you cannot read depends on it',
      );
      const cascade = await bruno.delete(
        '/resources/default/payments-db?cascade=true',
      );
      expect(cascade.status).toBe(403);
      // ana sees who depends on it.
      expect(
        (await ana.delete('/resources/default/payments-db')).body.error.message,
      ).toContain('resource:default/platform-app depends on it');

      // Manifests that prune in default: only what bruno can read is pruned; the issue
      // about ana's app that pruning his database raises names no app.
      for (const path of ['/manifests/plan', '/manifests/apply']) {
        const pruned = await bruno.post(path, {
          yaml: manifest('orders-db', 'payments', 'mysql'),
          prune: true,
        });
        expect(pruned.status).toBe(400);
        expect(pruned.body.error.message).toContain('dependsOn.0');
        expect(JSON.stringify(pruned.body)).not.toMatch(
          /platform-app|platform-db/,
        );
      }
      // Without that dependency, a prune deletes his own and leaves platform's alone.
      await ana.delete('/resources/default/platform-app').expect(202);
      const plan = await bruno
        .post('/manifests/plan', {
          yaml: manifest('orders-db', 'payments', 'mysql'),
          prune: true,
        })
        .expect(200);
      expect(
        plan.body.changes.map((c: any) => [c.ref, c.action]).sort(),
      ).toEqual([
        ['resource:default/orders-db', 'create'],
        ['resource:default/payments-db', 'delete'],
      ]);
      expect(JSON.stringify(plan.body)).not.toContain('platform-db');
    });

    it('shows a dependency the caller cannot read as missing among its blockers', async () => {
      await bruno
        .post(
          '/resources',
          webapp('checkout', 'payments', ['default/payments-db']),
        )
        .expect(201);
      // ana (who reads everything) makes it depend on platform's database too.
      await ana
        .patch('/resources/default/checkout', {
          dependsOn: ['default/payments-db', 'default/platform-db'],
        })
        .expect(200);
      const blockers = await bruno
        .get('/resources/default/checkout/blockers')
        .expect(200);
      expect(blockers.body.blockers).toEqual([
        expect.objectContaining({
          ref: 'resource:default/payments-db',
          state: 'PENDING',
        }),
        {
          ref: 'resource:default/platform-db',
          state: 'MISSING',
          reason: 'no such resource is live',
        },
      ]);
      // A reference it keeps is no reference it makes: bruno can still change his app.
      await bruno
        .patch('/resources/default/checkout', { labels: { team: 'payments' } })
        .expect(200);
    });
  },
);
