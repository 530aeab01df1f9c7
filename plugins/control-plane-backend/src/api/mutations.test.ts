import { TestDatabases } from '@backstage/backend-test-utils';
import { execFileSync } from 'node:child_process';
import { DateTime } from 'luxon';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const mysql = {
  name: 'orders-db',
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
};

/**
 * What every mutating request shares: its request id, its Idempotency-Key (on every route,
 * with the same semantics), its audit event (accepted or refused, with where it came from and
 * digests of what it changed), and its checks before anything is written.
 */
describe.each(databases.eachSupportedId())(
  'mutating requests on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
    });
    afterEach(() => cp.cleanup());

    const api = () => request(cp.server);
    const as = authAs(users.bruno);
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: cp.repoPath }).toString().trim();
    const commitCount = () => Number(git('rev-list', '--count', 'main'));
    const create = (body: object = mysql, user = as) =>
      api()
        .post('/api/control-plane/resources')
        .set('authorization', user)
        .send(body);
    const auditOf = async (query: string) =>
      (
        await api()
          .get(`/api/control-plane/audit?${query}`)
          .set('authorization', authAs(users.ana))
      ).body.items;
    const count = async (table: string) =>
      Number((await cp.knex(table).count({ n: '*' }))[0].n);

    it('refuses an over-long x-request-id with 400 naming it, and keeps working afterwards', async () => {
      const before = commitCount();
      const res = await create().set('x-request-id', 'r'.repeat(65));
      expect(res.status).toBe(400);
      expect(res.body.error.issues).toEqual([
        { path: 'x-request-id', message: expect.stringContaining('64') },
      ]);
      // The answer carries the id the request was given instead.
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(commitCount()).toBe(before);
      expect(await count('resources')).toBe(0);
      const [refusal] = await auditOf('outcome=rejected');
      expect(refusal).toMatchObject({
        action: 'resource.create',
        requestId: res.headers['x-request-id'],
        reason: expect.stringContaining('x-request-id'),
      });

      // A valid one is recorded with the commit; later mutations still work.
      const ok = await create().set('x-request-id', 'trace-0123456789');
      expect(ok.status).toBe(201);
      expect(git('log', '-1', '--format=%B', 'main')).toContain(
        'Request-Id: trace-0123456789',
      );
      await api()
        .patch('/api/control-plane/resources/default/orders-db')
        .set('authorization', as)
        .send({ params: { size: 'large' } })
        .expect(200);
    });

    it('forgets an idempotency key after its retention: a reused key is a new request', async () => {
      await create().set('idempotency-key', 'k-reused').expect(201);
      await api()
        .patch('/api/control-plane/resources/default/orders-db')
        .set('authorization', as)
        .set('idempotency-key', 'k-patch')
        .send({ params: { size: 'large' } })
        .expect(200);
      await api()
        .patch('/api/control-plane/resources/default/orders-db')
        .set('authorization', as)
        .send({ params: { size: 'small' } })
        .expect(200);

      // A day and more later (the retention is 24 hours) ...
      const longAgo = DateTime.utc().minus({ hours: 25 }).toISO();
      await cp.knex('idempotency_keys').update({
        created_at: longAgo,
        expires_at: longAgo,
        lease_until: longAgo,
      });
      await cp.knex('state_changes').update({ indexed_at: longAgo });

      // ... the same key asks for something new, and gets it.
      const other = await create({ ...mysql, name: 'ledger-db' }).set(
        'idempotency-key',
        'k-reused',
      );
      expect(other.status).toBe(201);
      expect(other.headers['idempotent-replayed']).toBeUndefined();
      expect(other.body.ref).toBe('resource:default/ledger-db');
      const before = commitCount();
      const patched = await api()
        .patch('/api/control-plane/resources/default/orders-db')
        .set('authorization', as)
        .set('idempotency-key', 'k-patch')
        .send({ params: { size: 'large' } });
      expect(patched.status).toBe(200);
      expect(patched.body.spec.params.size).toBe('large');
      expect(commitCount()).toBe(before + 1);
    });

    it('writes nothing for a create refused by validation, not even its idempotency key', async () => {
      const writes: string[] = [];
      const onQuery = (q: { sql: string }) => {
        if (/^\s*(insert|update|delete)/i.test(q.sql)) writes.push(q.sql);
      };
      cp.knex.on('query', onQuery);
      try {
        const res = await create({ ...mysql, params: { size: 'huge' } }).set(
          'idempotency-key',
          'k-bad',
        );
        expect(res.status).toBe(400);
      } finally {
        cp.knex.off('query', onQuery);
      }
      // Only the audit event of the refusal is written.
      expect(writes.filter(sql => !/audit_events/.test(sql))).toEqual([]);
      expect(writes.some(sql => /audit_events/.test(sql))).toBe(true);
      // The key is free for the corrected request.
      await create().set('idempotency-key', 'k-bad').expect(201);
    });

    it('answers concurrent deletes of one resource with one 202 and 404s or 409s, never a 500', async () => {
      await create().expect(201);
      const before = commitCount();
      const responses = await Promise.all(
        Array.from({ length: 12 }, () =>
          api()
            .delete('/api/control-plane/resources/default/orders-db')
            .set('authorization', as),
        ),
      );
      const statuses = responses.map(r => r.status).sort();
      expect(statuses.filter(s => s === 202)).toHaveLength(1);
      expect(statuses.every(s => [202, 404, 409].includes(s))).toBe(true);
      expect(commitCount()).toBe(before + 1);
    });

    it('accepts Idempotency-Key on every mutating route, replaying the first answer', async () => {
      await create().expect(201);
      const op = await api()
        .post('/api/control-plane/resources/default/orders-db/operations')
        .set('authorization', as)
        .send({ type: 'backup' })
        .expect(202);

      const twice = async (
        send: () => request.Test,
        expected: number,
      ): Promise<request.Response> => {
        const first = await send().set(
          'idempotency-key',
          `k-${expected}-${Math.random()}`,
        );
        const key = first.headers['idempotency-key'];
        expect(first.status).toBe(expected);
        const again = await send().set('idempotency-key', key);
        expect(again.status).toBe(expected);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.body).toEqual(first.body);
        return first;
      };
      const cancel = await twice(
        () =>
          api()
            .post(`/api/control-plane/operations/${op.body.id}/cancel`)
            .set('authorization', as),
        202,
      );
      expect(cancel.body.cancelRequested).toBe(true);
      // The replay cancelled nothing again: one request in the operation's timeline.
      const timeline = (
        await api()
          .get(`/api/control-plane/operations/${op.body.id}`)
          .set('authorization', as)
      ).body.timeline;
      expect(
        timeline.filter((e: any) => e.type === 'operation.cancel-requested'),
      ).toHaveLength(1);
      await twice(
        () =>
          api()
            .post('/api/control-plane/reconciler/run')
            .set('authorization', authAs(users.ana))
            .send({}),
        200,
      );
      await twice(
        () =>
          api()
            .post('/api/control-plane/gitops/sync')
            .set('authorization', authAs(users.ana)),
        200,
      );
      // Another body under the same key is refused; nothing runs.
      const run = await api()
        .post('/api/control-plane/reconciler/run')
        .set('authorization', authAs(users.ana))
        .set('idempotency-key', 'k-run')
        .send({});
      expect(run.status).toBe(200);
      const other = await api()
        .post('/api/control-plane/reconciler/run')
        .set('authorization', authAs(users.ana))
        .set('idempotency-key', 'k-run')
        .send({ drift: true });
      expect(other.status).toBe(422);
      await twice(
        () =>
          api()
            .post('/api/control-plane/resources/default/orders-db/retry')
            .set('authorization', as),
        202,
      );
      // Retrying an operation that needs no attention: refused, the key freed (a refusal is
      // not an answer to replay).
      const refused = await api()
        .post(`/api/control-plane/operations/${op.body.id}/retry`)
        .set('authorization', as)
        .set('idempotency-key', 'k-retry-op');
      expect(refused.status).toBe(409);
      expect(refused.headers['idempotency-key']).toBe('k-retry-op');
      expect(
        await cp.knex('idempotency_keys').where({ key: 'k-retry-op' }),
      ).toEqual([]);
    });

    it('creates one operation per key, even for a retry after a crash before the answer', async () => {
      await create().expect(201);
      const send = () =>
        api()
          .post('/api/control-plane/resources/default/orders-db/operations')
          .set('authorization', as)
          .set('idempotency-key', 'k-backup')
          .send({ type: 'backup' });
      const first = await send();
      expect(first.status).toBe(202);
      // The backend died after creating the operation, before recording its answer: the key
      // is still in flight, and its lease has run out.
      const past = DateTime.utc().minus({ minutes: 5 }).toISO();
      await cp.knex('idempotency_keys').where({ key: 'k-backup' }).update({
        state: 'in_flight',
        response_status: null,
        response_body: null,
        lease_until: past,
      });
      const retried = await send();
      expect(retried.status).toBe(202);
      expect(retried.body.id).toBe(first.body.id);
      expect(await count('operations')).toBe(1);
    });

    it('audits a request refused before its input is parsed', async () => {
      await create().expect(201);
      const refused = [
        await api()
          .post('/api/control-plane/resources/default/orders-db/operations')
          .set('authorization', as)
          .send({ type: 'teleport' }),
        await api()
          .patch('/api/control-plane/resources/default/Orders_DB')
          .set('authorization', as)
          .send({ params: { size: 'large' } }),
        await api()
          .delete('/api/control-plane/resources/Payments/orders-db')
          .set('authorization', as),
        await api()
          .post('/api/control-plane/operations/not-a-uuid/cancel')
          .set('authorization', as),
        await api()
          .post('/api/control-plane/operations/not-a-uuid/retry')
          .set('authorization', as),
      ];
      expect(refused.map(r => r.status)).toEqual([400, 400, 400, 400, 400]);
      const events = await auditOf('outcome=rejected');
      expect(
        events.map((e: any) => [e.action, e.target, e.requestId]).reverse(),
      ).toEqual([
        [
          'resource.operation',
          'resource:default/orders-db',
          refused[0].headers['x-request-id'],
        ],
        [
          'resource.update',
          'resource:default/Orders_DB',
          refused[1].headers['x-request-id'],
        ],
        [
          'resource.delete',
          'resource:Payments/orders-db',
          refused[2].headers['x-request-id'],
        ],
        [
          'operation.cancel',
          'operation:not-a-uuid',
          refused[3].headers['x-request-id'],
        ],
        [
          'operation.retry',
          'operation:not-a-uuid',
          refused[4].headers['x-request-id'],
        ],
      ]);
    });

    it('records where a change came from and digests of what it changed, and audits a change that changes nothing', async () => {
      const created = await create()
        .set('user-agent', 'idp-cli/1.2.3')
        .expect(201);
      const patch = () =>
        api()
          .patch('/api/control-plane/resources/default/orders-db')
          .set('authorization', as)
          .set('user-agent', 'idp-cli/1.2.3')
          .send({ params: { size: 'large' } });
      await patch().expect(200);
      // The commit carries the source, so whichever replica indexes it records it.
      const message = git('log', '-1', '--format=%B', 'main');
      expect(message).toContain('User-Agent: idp-cli/1.2.3');
      expect(message).toMatch(/^Source-Ip: \S+$/m);
      expect(message).toMatch(/^Before-Digest: [0-9a-f]{64}$/m);
      expect(message).toMatch(/^After-Digest: [0-9a-f]{64}$/m);

      await api()
        .post('/api/control-plane/resources/default/orders-db/operations')
        .set('authorization', as)
        .send({ type: 'scale', params: { replicas: 2 } })
        .expect(202);
      await api()
        .post('/api/control-plane/manifests/apply')
        .set('authorization', as)
        .send({
          yaml: `apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: ledger-db }
spec: { product: mysql, owner: group:default/payments, tier: medium, cell: cell-us }
`,
        })
        .expect(200);
      await api()
        .delete('/api/control-plane/resources/default/ledger-db')
        .set('authorization', as)
        .expect(202);

      const accepted = (await auditOf('outcome=accepted&limit=50')).filter(
        (e: any) => e.actor === users.bruno,
      );
      const byAction = (action: string) =>
        accepted.filter((e: any) => e.action === action);
      const [update] = byAction('resource.update');
      expect(update).toMatchObject({
        source: { ip: expect.any(String), userAgent: 'idp-cli/1.2.3' },
        beforeDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
        afterDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(update.beforeDigest).not.toBe(update.afterDigest);
      const [createEvent] = byAction('resource.create');
      expect(createEvent.afterDigest).toBe(update.beforeDigest);
      expect(createEvent.beforeDigest).toBeUndefined();
      // The scale's commit and its operation both say what it changed.
      const scale = byAction('resource.scale');
      expect(scale).toHaveLength(2);
      for (const e of scale) {
        expect(e.beforeDigest).toBe(update.afterDigest);
        expect(e.afterDigest).toMatch(/^[0-9a-f]{64}$/);
        expect(e.afterDigest).not.toBe(e.beforeDigest);
      }
      const [apply] = byAction('manifests.apply');
      expect(apply.afterDigest).toMatch(/^[0-9a-f]{64}$/);
      const [deleted] = byAction('resource.delete');
      expect(deleted.beforeDigest).toBe(apply.afterDigest);
      expect(deleted.afterDigest).toBeUndefined();
      expect(created.body.status.commit).toBeDefined();

      // The same patch again: no commit, still an event.
      const before = commitCount();
      await patch().expect(200);
      await patch().expect(200);
      expect(commitCount()).toBe(before);
      const noop = (await auditOf('action=resource.update')).slice(0, 2);
      expect(noop).toEqual([
        expect.objectContaining({
          outcome: 'accepted',
          reason: expect.stringContaining('nothing to change'),
          source: { ip: expect.any(String), userAgent: 'idp-cli/1.2.3' },
        }),
        expect.objectContaining({
          reason: expect.stringContaining('nothing to change'),
        }),
      ]);
      expect(noop[0].commit).toBeUndefined();
    });

    it('audits a replayed request as accepted, naming the replay', async () => {
      await create().set('idempotency-key', 'k-once').expect(201);
      const replay = await create().set('idempotency-key', 'k-once');
      expect(replay.status).toBe(201);
      const [event] = await auditOf('action=resource.create');
      expect(event).toMatchObject({
        outcome: 'accepted',
        target: 'resource:default/orders-db',
        requestId: replay.headers['x-request-id'],
        reason: expect.stringContaining('replayed the first response (201)'),
      });
    });

    it('notices in /audit/verify that the newest events were deleted with SQL', async () => {
      await create().expect(201);
      await create({ ...mysql, name: 'ledger-db' }).expect(201);
      const verify = async () =>
        (
          await api()
            .get('/api/control-plane/audit/verify')
            .set('authorization', authAs(users.ana))
        ).body;
      expect(await verify()).toMatchObject({ valid: true });

      // Cut the chain short at its end: what remains is still a valid chain on its own.
      const commit = git('rev-parse', 'main');
      const own = await cp
        .knex('audit_events')
        .where({ commit_sha: commit })
        .first('id');
      await cp.knex('audit_events').where('id', '>=', own.id).delete();
      expect(await verify()).toEqual({
        valid: false,
        checked: Number(own.id) - 1,
        firstBroken: {
          id: Number(own.id),
          reason: expect.stringContaining(
            `the event of commit ${commit.slice(0, 12)}`,
          ),
        },
      });

      // Deleting further back, from the event the commit anchored (where the chain stood
      // when its batch began), is found there or before: an earlier commit's own event at or
      // after that anchor is gone too, and the lowest break is named.
      const anchored = /^Audit-Head: (\d+) /m.exec(
        git('log', '-1', '--format=%B', 'main'),
      )!;
      await cp
        .knex('audit_events')
        .where('id', '>=', Number(anchored[1]))
        .delete();
      const cut = await verify();
      expect(cut.valid).toBe(false);
      expect(cut.firstBroken.id).toBeLessThanOrEqual(Number(anchored[1]));
      expect(cut.firstBroken.reason).toMatch(/deleted/);
    });
  },
);
