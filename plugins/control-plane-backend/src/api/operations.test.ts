import { TestDatabases } from '@backstage/backend-test-utils';
import { execFileSync } from 'node:child_process';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const db = {
  name: 'orders-db',
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
};

describe.each(databases.eachSupportedId())(
  'operations, history and events on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
      await request(cp.server)
        .post('/api/control-plane/resources')
        .set('authorization', authAs(users.bruno))
        .send(db)
        .expect(201);
    });
    afterEach(() => cp.cleanup());

    const as = authAs(users.bruno);
    const operate = (body: object, user = as) =>
      request(cp.server)
        .post('/api/control-plane/resources/default/orders-db/operations')
        .set('authorization', user)
        .send(body);

    it('accepts an operation, pending until an engine runs it, with a timeline', async () => {
      const res = await operate({
        type: 'backup',
        params: { label: 'before-migration' },
      });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        type: 'backup',
        resourceRef: 'resource:default/orders-db',
        state: 'pending',
        actor: users.bruno,
        params: { label: 'before-migration' },
        timeline: [
          {
            type: 'operation.accepted',
            message: `backup requested by ${users.bruno}`,
          },
        ],
      });
      const fetched = await request(cp.server)
        .get(`/api/control-plane/operations/${res.body.id}`)
        .set('authorization', as);
      expect(fetched.body).toEqual(res.body);
      const listed = await request(cp.server)
        .get('/api/control-plane/resources/default/orders-db/operations')
        .set('authorization', as);
      expect(listed.body.items.map((o: any) => o.id)).toEqual([res.body.id]);
    });

    it('commits the spec change of a scale, so Git stays the truth; one operation at a time', async () => {
      const spec = () =>
        execFileSync('git', ['show', 'main:resources/default/orders-db.yaml'], {
          cwd: cp.repoPath,
        }).toString();
      const scale = await operate({
        type: 'scale',
        params: { replicas: 3, storageGi: 100 },
      });
      expect(scale.status).toBe(202);
      expect(spec()).toMatch(/replicas: 3/);
      expect(spec()).toMatch(/storageGi: 100/);
      const resource = await request(cp.server)
        .get('/api/control-plane/resources/default/orders-db')
        .set('authorization', as);
      expect(resource.body.status.generation).toBe(2);

      // While the scale is in flight, another operation is refused before anything is committed.
      const before = spec();
      const upgrade = await operate({
        type: 'upgrade-version',
        params: { version: '8.0' },
      });
      expect(upgrade.status).toBe(409);
      expect(upgrade.body.error.message).toContain(`scale ${scale.body.id}`);
      expect(spec()).toBe(before);
    });

    it.each([
      [{ type: 'teleport' }, 'type'],
      [{ type: 'restore', params: {} }, 'params.backupId'],
      [{ type: 'scale', params: {} }, 'params'],
      [
        { type: 'upgrade-version', params: { version: '9.9' } },
        'would make params.engineVersion invalid',
      ],
    ])('refuses %j naming %s', async (body, field) => {
      const res = await operate(body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
    });

    it('refuses operations to users who may not operate the resource', async () => {
      // eve may not even read it: for her it does not exist.
      expect(
        (await operate({ type: 'backup' }, authAs(users.eve))).status,
      ).toBe(404);
    });

    it('keeps the history of the resource and streams its events, resuming after the last id', async () => {
      const history = await request(cp.server)
        .get('/api/control-plane/resources/default/orders-db/history')
        .set('authorization', as);
      expect(history.body).toEqual({
        ref: 'resource:default/orders-db',
        transitions: [
          expect.objectContaining({ to: 'PENDING', actor: users.bruno }),
        ],
      });

      const port = (cp.server.address() as AddressInfo).port;
      const controller = new AbortController();
      const response = await fetch(
        `http://127.0.0.1:${port}/api/control-plane/resources/default/orders-db/events`,
        {
          headers: { authorization: as, accept: 'text/event-stream' },
          signal: controller.signal,
        },
      );
      expect(response.headers.get('content-type')).toContain(
        'text/event-stream',
      );
      const reader = response.body!.getReader();
      let text = '';
      const readUntil = async (pattern: RegExp) => {
        while (!pattern.test(text)) {
          const { value } = await reader.read();
          text += new TextDecoder().decode(value);
        }
      };
      await readUntil(/event: state\.changed/);
      // A new event arrives on the open stream as soon as it is written.
      await operate({ type: 'backup' }).expect(202);
      await readUntil(/event: operation\.accepted/);
      controller.abort();
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map(m => Number(m[1]));
      expect(ids.length).toBeGreaterThanOrEqual(2);

      // Reconnecting with Last-Event-ID sends only what came after.
      const resumed = await fetch(
        `http://127.0.0.1:${port}/api/control-plane/resources/default/orders-db/events`,
        {
          headers: { authorization: as, 'last-event-id': String(ids[0]) },
          signal: AbortSignal.timeout(3000),
        },
      );
      const resumedReader = resumed.body!.getReader();
      const { value } = await resumedReader.read();
      const first = new TextDecoder().decode(value);
      expect(first).not.toContain(`id: ${ids[0]}\n`);
      expect(first).toContain(`id: ${ids[1]}\n`);
      await resumedReader.cancel();
    });
  },
);
