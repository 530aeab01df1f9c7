import { TestDatabases } from '@backstage/backend-test-utils';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const mysql = {
  name: 'orders-db',
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'critical',
  cell: 'cell-us',
  params: { size: 'large' },
};

describe.each(databases.eachSupportedId())(
  'resources API on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
    });
    afterEach(() => cp.cleanup());

    const head = () =>
      execFileSync('git', ['rev-parse', 'refs/heads/main'], {
        cwd: cp.repoPath,
      })
        .toString()
        .trim();
    const commitCount = () =>
      Number(
        execFileSync('git', ['rev-list', '--count', 'main'], {
          cwd: cp.repoPath,
        }).toString(),
      );
    const rows = async () =>
      Number((await cp.knex('resources').count({ n: '*' }))[0].n);
    const api = () => request(cp.server);

    it('accepts a resource as one commit, PENDING, with its spec in Git', async () => {
      const before = commitCount();
      const res = await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .send(mysql);

      expect(res.status).toBe(201);
      expect(res.headers['idempotency-key']).toEqual(expect.any(String));
      expect(res.body).toMatchObject({
        ref: 'resource:default/orders-db',
        spec: {
          product: 'mysql',
          owner: 'group:default/payments',
          params: { size: 'large' },
        },
        status: {
          state: 'PENDING',
          generation: 1,
          observedGeneration: 0,
          commit: head(),
        },
      });
      expect(commitCount()).toBe(before + 1);
      const log = execFileSync(
        'git',
        ['log', '-1', '--format=%an%n%B', 'main'],
        { cwd: cp.repoPath },
      ).toString();
      expect(log).toContain('user:default/bruno');
      expect(log).toContain('Action: resource.create');
      expect(log).toContain(
        `Idempotency-Key: ${res.headers['idempotency-key']}`,
      );
      const yaml = execFileSync(
        'git',
        ['show', 'main:resources/default/orders-db.yaml'],
        { cwd: cp.repoPath },
      ).toString();
      expect(yaml).toContain('kind: Resource');
      expect(yaml).toContain('size: large');

      const got = await api()
        .get('/api/control-plane/resources/default/orders-db')
        .set('authorization', authAs(users.bruno));
      expect(got.status).toBe(200);
      expect(got.body.status.state).toBe('PENDING');
    });

    it('refuses a bad field with 400 naming it; no commit, no row, a rejection in the audit log', async () => {
      const before = head();
      const res = await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .send({ ...mysql, params: { size: 'huge' } });

      expect(res.status).toBe(400);
      expect(res.body.error.name).toBe('InputError');
      expect(res.body.error.message).toMatch(/^params\.size: /);
      expect(res.body.error.issues).toEqual([
        { path: 'params.size', message: expect.any(String) },
      ]);
      expect(head()).toBe(before);
      expect(await rows()).toBe(0);

      const audit = await api()
        .get('/api/control-plane/audit?outcome=rejected')
        .set('authorization', authAs(users.ana));
      expect(audit.body.items[0]).toMatchObject({
        actor: users.bruno,
        action: 'resource.create',
        target: 'resource:default/orders-db',
        outcome: 'rejected',
        reason: expect.stringContaining('params.size'),
      });
    });

    it.each([
      [{ ...mysql, cell: 'cell-mars' }, 'cell'],
      [{ ...mysql, product: 'oracle' }, 'product'],
      [{ ...mysql, name: 'Orders_DB' }, 'name'],
      [{ ...mysql, owner: 'payments' }, 'owner'],
      [{ ...mysql, tier: 'platinum' }, 'tier'],
      [
        { ...mysql, params: { highAvailability: false } },
        'params.highAvailability',
      ],
      [{ ...mysql, dependsOn: ['resource:default/nothing'] }, 'dependsOn.0'],
      [{ ...mysql, colour: 'blue' }, '(root)'],
    ])('refuses %j naming %s', async (body, field) => {
      const res = await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .send(body);
      expect(res.status).toBe(400);
      expect(
        res.body.error.issues.map((i: { path: string }) => i.path),
      ).toContain(field);
      expect(await rows()).toBe(0);
    });

    it('lets 50 concurrent identical creates with one key make one resource and one commit', async () => {
      const before = commitCount();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          api()
            .post('/api/control-plane/resources')
            .set('authorization', authAs(users.bruno))
            .set('idempotency-key', 'create-orders-db-1')
            .send(mysql),
        ),
      );
      const statuses = responses.map(r => r.status);
      expect(statuses.every(s => s === 201 || s === 409)).toBe(true);
      const created = responses.filter(r => r.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      for (const r of created) expect(r.body).toEqual(created[0].body);
      expect(commitCount()).toBe(before + 1);
      expect(await rows()).toBe(1);

      const replay = await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .set('idempotency-key', 'create-orders-db-1')
        .send(mysql);
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(created[0].body);

      const different = await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .set('idempotency-key', 'create-orders-db-1')
        .send({ ...mysql, tier: 'high' });
      expect(different.status).toBe(422);
      expect(commitCount()).toBe(before + 1);
    });

    it('refuses a dependency cycle, naming it', async () => {
      const as = authAs(users.bruno);
      await api()
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send(mysql)
        .expect(201);
      await api()
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send({
          name: 'checkout',
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'high',
          cell: 'cell-us',
          params: { image: 'ghcr.io/acme/checkout', version: '1.0.0' },
          dependsOn: ['orders-db'],
        })
        .expect(201);
      const cycle = await api()
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send({
          name: 'edge',
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'high',
          cell: 'cell-us',
          params: { image: 'ghcr.io/acme/edge', version: '1.0.0' },
          dependsOn: ['checkout'],
        });
      expect(cycle.status).toBe(201);
      const patch = await api()
        .patch('/api/control-plane/resources/default/checkout')
        .set('authorization', as)
        .send({ dependsOn: ['orders-db', 'edge'] });
      expect(patch.status).toBe(400);
      expect(patch.body.error.message).toContain(
        'dependency cycle: resource:default/checkout → resource:default/edge → resource:default/checkout',
      );
    });

    it('refuses deleting a resource others depend on, naming them; cascade deletes dependents first', async () => {
      const as = authAs(users.bruno);
      await api()
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send(mysql)
        .expect(201);
      await api()
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send({
          name: 'checkout',
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'high',
          cell: 'cell-us',
          params: { image: 'ghcr.io/acme/checkout', version: '1.0.0' },
          dependsOn: ['orders-db'],
        })
        .expect(201);

      const refused = await api()
        .delete('/api/control-plane/resources/default/orders-db')
        .set('authorization', as);
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain(
        'resource:default/checkout depends on it',
      );

      const blockers = await api()
        .get('/api/control-plane/resources/default/checkout/blockers')
        .set('authorization', as);
      expect(blockers.body).toEqual({
        ref: 'resource:default/checkout',
        blocked: true,
        blockers: [
          {
            ref: 'resource:default/orders-db',
            state: 'PENDING',
            reason: expect.stringContaining('waiting for it to be READY'),
          },
        ],
      });

      const cascade = await api()
        .delete('/api/control-plane/resources/default/orders-db?cascade=true')
        .set('authorization', as);
      expect(cascade.status).toBe(202);
      expect(cascade.body.deleting).toEqual([
        'resource:default/checkout',
        'resource:default/orders-db',
      ]);
      const status = await api()
        .get('/api/control-plane/resources/default/orders-db/status')
        .set('authorization', as);
      expect(status.body.state).toBe('DELETING');
    });

    it('refuses a user without the permission with 403 and changes nothing', async () => {
      const before = head();
      const res = await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.eve))
        .send(mysql);
      expect(res.status).toBe(403);
      expect(head()).toBe(before);
      expect(await rows()).toBe(0);

      // bruno may not create for a group he is not in
      const foreign = await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .send({ ...mysql, owner: 'group:default/platform' });
      expect(foreign.status).toBe(403);
      expect(head()).toBe(before);
    });

    it("shows a developer only his groups' resources", async () => {
      await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.ana))
        .send({
          ...mysql,
          name: 'platform-db',
          owner: 'group:default/platform',
        })
        .expect(201);
      await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .send(mysql)
        .expect(201);

      const bruno = await api()
        .get('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno));
      expect(bruno.body.items.map((r: { ref: string }) => r.ref)).toEqual([
        'resource:default/orders-db',
      ]);
      const ana = await api()
        .get('/api/control-plane/resources')
        .set('authorization', authAs(users.ana));
      expect(ana.body.items).toHaveLength(2);
      const eve = await api()
        .get('/api/control-plane/resources')
        .set('authorization', authAs(users.eve));
      expect(eve.body.items).toEqual([]);

      const hidden = await api()
        .get('/api/control-plane/resources/default/platform-db')
        .set('authorization', authAs(users.bruno));
      // What a caller cannot read does not exist for it.
      expect(hidden.status).toBe(404);
    });

    it('names an audit event changed with SQL in /audit/verify', async () => {
      await api()
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .send(mysql)
        .expect(201);
      const ok = await api()
        .get('/api/control-plane/audit/verify')
        .set('authorization', authAs(users.ana));
      expect(ok.body).toEqual({ valid: true, checked: expect.any(Number) });
      const events = await cp.knex('audit_events').orderBy('id');
      const victim = events[Math.floor(events.length / 2)];
      await cp
        .knex('audit_events')
        .where({ id: victim.id })
        .update({ actor: 'user:default/mallory' });

      const broken = await api()
        .get('/api/control-plane/audit/verify')
        .set('authorization', authAs(users.ana));
      expect(broken.body).toEqual({
        valid: false,
        checked: Number(victim.id) - 1,
        firstBroken: {
          id: Number(victim.id),
          reason: 'its content does not match its hash',
        },
      });
      const denied = await api()
        .get('/api/control-plane/audit/verify')
        .set('authorization', authAs(users.bruno));
      expect(denied.status).toBe(403);
    });
  },
);
