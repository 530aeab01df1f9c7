import { TestDatabases } from '@backstage/backend-test-utils';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callAs, startControlPlane, users } from '../__testUtils__/backend';
import { git } from '../__testUtils__/git';

const databases = TestDatabases.create();
jest.setTimeout(90_000);

const cache = (name: string, owner = 'group:default/payments') => ({
  name,
  namespace: 'payments',
  product: 'redis',
  owner,
  tier: 'medium',
  cell: 'cell-eu',
  params: { size: 'small' },
});

describe.each(databases.eachSupportedId())(
  'rollback by git revert on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    let work: string;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
      work = mkdtempSync(join(tmpdir(), 'idp-revert-'));
    });
    afterEach(async () => {
      await cp.cleanup();
      rmSync(work, { recursive: true, force: true });
    });

    const ana = () => callAs(cp.server, users.ana);
    const bruno = () => callAs(cp.server, users.bruno);
    const eve = () => callAs(cp.server, users.eve);
    /** The resource's manifest at the head of the state repository, or undefined. */
    const atHead = (name: string) => {
      const path = `resources/payments/${name}.yaml`;
      return git(cp.repoPath, 'ls-tree', '--name-only', 'main', path)
        ? git(cp.repoPath, 'show', `main:${path}`)
        : undefined;
    };
    const changesOf = async (name: string) => {
      const res = await ana().get(`/changes?resource=payments/${name}`);
      expect(res.status).toBe(200);
      return res.body.items as {
        sha: string;
        subject: string;
        actor: string;
        objects: { action: string }[];
      }[];
    };

    it('restores an update, deletes a create, re-creates a delete, and audits each revert', async () => {
      await bruno().post('/resources', cache('sessions')).expect(201);
      await bruno()
        .patch('/resources/payments/sessions', { params: { size: 'large' } })
        .expect(200);
      const [update, create] = await changesOf('sessions');
      expect(update.objects[0].action).toBe('update');
      expect(create.objects[0].action).toBe('create');
      expect(update.actor).toBe(users.bruno);

      // an update reverted: the spec before it is back
      const reverted = await bruno().post(
        `/changes/${update.sha.slice(0, 10)}/revert`,
      );
      expect(reverted.status).toBe(200);
      expect(reverted.body).toMatchObject({
        reverted: update.sha,
        objects: [{ ref: 'resource:payments/sessions', action: 'update' }],
      });
      expect(atHead('sessions')).toContain('size: small');
      const got = await bruno().get('/resources/payments/sessions').expect(200);
      expect(got.body.spec.params.size).toBe('small');
      expect(got.body.status.commit).toBe(reverted.body.commit);
      const message = git(cp.repoPath, 'log', '-1', '--format=%B', 'main');
      expect(message).toContain(`This reverts commit ${update.sha}.`);
      const audit = await ana().get('/audit?action=change.revert').expect(200);
      expect(audit.body.items).toEqual([
        expect.objectContaining({
          actor: users.bruno,
          action: 'change.revert',
          outcome: 'accepted',
        }),
      ]);

      // the creation of another resource reverted: it is deleted
      await bruno().post('/resources', cache('tokens')).expect(201);
      const [created] = await changesOf('tokens');
      const undone = await bruno()
        .post(`/changes/${created.sha}/revert`)
        .expect(200);
      expect(undone.body.objects).toEqual([
        { kind: 'Resource', ref: 'resource:payments/tokens', action: 'delete' },
      ]);
      expect(atHead('tokens')).toBeUndefined();

      // a deletion reverted: the resource is desired again, as it was
      await bruno().delete('/resources/payments/sessions').expect(202);
      expect(atHead('sessions')).toBeUndefined();
      const [deletion] = await changesOf('sessions');
      expect(deletion.objects[0].action).toBe('delete');
      const back = await bruno()
        .post(`/changes/${deletion.sha}/revert`)
        .expect(200);
      expect(back.body.objects[0].action).toBe('create');
      expect(atHead('sessions')).toContain('size: small');
      const again = await bruno()
        .get('/resources/payments/sessions')
        .expect(200);
      expect(again.body.spec.params.size).toBe('small');
    });

    it('refuses a revert that conflicts with later changes, naming them, and writes nothing', async () => {
      await ana().post('/resources', cache('sessions')).expect(201);
      await ana()
        .patch('/resources/payments/sessions', { params: { size: 'large' } })
        .expect(200);
      const [update, create] = await changesOf('sessions');
      const head = git(cp.repoPath, 'rev-parse', 'main');
      const res = await ana().post(`/changes/${create.sha}/revert`);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toContain(update.sha.slice(0, 12));
      expect(res.body.error.message).toContain('resource:payments/sessions');
      expect(git(cp.repoPath, 'rev-parse', 'main')).toBe(head);
      // reverting the later change first, then the creation, works
      await ana().post(`/changes/${update.sha}/revert`).expect(200);
      await ana().post(`/changes/${create.sha}/revert`).expect(200);
      expect(atHead('sessions')).toBeUndefined();
    });

    it('validates a revert like any change: deleting what others depend on is refused, and nothing is written', async () => {
      await ana().post('/resources', cache('sessions')).expect(201);
      const [create] = await changesOf('sessions');
      await ana()
        .post('/resources', {
          ...cache('api'),
          product: 'webapp',
          params: { image: 'ghcr.io/acme/app', version: '1.0.0' },
          dependsOn: ['payments/sessions'],
        })
        .expect(201);
      const head = git(cp.repoPath, 'rev-parse', 'main');
      const res = await ana().post(`/changes/${create.sha}/revert`);
      // api still depends on it: the validator of every change refuses the deletion
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain(
        'spec.dependsOn.0: no resource resource:payments/sessions',
      );
      expect(git(cp.repoPath, 'rev-parse', 'main')).toBe(head);
      expect(atHead('sessions')).toBeDefined();
    });

    it('answers 404 for an unknown change, 400 naming the field for a malformed one', async () => {
      const unknown = await ana().post(`/changes/${'ab'.repeat(20)}/revert`);
      expect(unknown.status).toBe(404);
      const malformed = await ana().post('/changes/not-a-sha/revert');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.message).toContain('sha');
      const list = await ana().get('/changes?resource=payments/never');
      expect(list.status).toBe(404);
    });

    it("checks a revert like a write of what it touches: another team's resource does not exist for a developer", async () => {
      await ana()
        .post('/resources', cache('platform-cache', 'group:default/platform'))
        .expect(201);
      await bruno().post('/resources', cache('sessions')).expect(201);
      const [platform] = await changesOf('platform-cache');
      const [mine] = await changesOf('sessions');
      const head = git(cp.repoPath, 'rev-parse', 'main');
      expect(
        (await bruno().post(`/changes/${platform.sha}/revert`)).status,
      ).toBe(404);
      expect(
        (await bruno().get('/changes?resource=payments/platform-cache')).status,
      ).toBe(404);
      expect((await eve().post(`/changes/${mine.sha}/revert`)).status).toBe(
        404,
      );
      expect(git(cp.repoPath, 'rev-parse', 'main')).toBe(head);
      await bruno().post(`/changes/${mine.sha}/revert`).expect(200);
    });

    it('applies a git revert pushed by hand, and reverts a hand-pushed change through the API', async () => {
      await ana().post('/resources', cache('sessions')).expect(201);
      await ana()
        .patch('/resources/payments/sessions', { params: { size: 'large' } })
        .expect(200);
      const [update] = await changesOf('sessions');

      git(work, 'clone', '--quiet', cp.repoPath, 'state');
      const dir = join(work, 'state');
      git(dir, 'revert', '--no-edit', update.sha);
      git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
      await ana().post('/gitops/sync').expect(200);
      const got = await ana().get('/resources/payments/sessions').expect(200);
      expect(got.body.spec.params.size).toBe('small');
      const [handRevert] = await changesOf('sessions');
      expect(handRevert.actor).toBe('git:Carla Ops <carla@example.com>');
      expect(handRevert.subject).toContain('Revert');

      // the hand-pushed revert, reverted through the API: the update is back
      await ana().post(`/changes/${handRevert.sha}/revert`).expect(200);
      const after = await ana().get('/resources/payments/sessions').expect(200);
      expect(after.body.spec.params.size).toBe('large');
    });
  },
);
