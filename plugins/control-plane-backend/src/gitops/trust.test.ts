import { TestDatabases } from '@backstage/backend-test-utils';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';
import { legacyHashAuditRow } from '../audit/AuditLog';
import { DesiredState } from './DesiredState';
import { git } from '../__testUtils__/git';

const databases = TestDatabases.create();
jest.setTimeout(90_000);

const PUSHER = 'git:Carla Ops <carla@example.com>';

const resourceYaml = (
  name: string,
  product = 'redis',
) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: ${name}
  namespace: payments
spec:
  product: ${product}
  owner: group:default/payments
  tier: medium
  cell: cell-eu
  params: {}
`;

/** Nine levels of nine aliases: under a hundred aliases, 9^9 strings once expanded. */
const aliasBomb = [
  'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from(
    { length: 8 },
    (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(',')}]`,
  ),
].join('\n');

/** A clone of the state repository that commits and pushes by hand. */
function handClone(repoPath: string, work: string) {
  git(work, 'clone', '--quiet', repoPath, 'state');
  const dir = join(work, 'state');
  return {
    dir,
    push(
      files: Record<string, string>,
      message: string[],
      author?: string,
    ): string {
      git(dir, 'pull', '--quiet', '--ff-only', 'origin', 'main');
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      git(dir, 'add', '.');
      git(
        dir,
        'commit',
        '--quiet',
        ...(author ? ['--author', author] : []),
        ...message.flatMap(m => ['-m', m]),
      );
      git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
      return git(dir, 'rev-parse', 'HEAD');
    },
  };
}

describe.each(databases.eachSupportedId())(
  'trust in the state repository on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    let work: string;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
      work = mkdtempSync(join(tmpdir(), 'idp-work-'));
    });
    afterEach(async () => {
      jest.restoreAllMocks();
      rmSync(work, { recursive: true, force: true });
      await cp.cleanup();
    });
    const api = () => request(cp.server);
    const as = (user: string) => ({ authorization: authAs(user) });
    const createDb = (name: string) =>
      api().post('/api/control-plane/resources').set(as(users.bruno)).send({
        name,
        product: 'mysql',
        owner: 'group:default/payments',
        tier: 'low',
        cell: 'cell-us',
      });
    const auditOf = async (query: string) =>
      (
        await api()
          .get(`/api/control-plane/audit?${query}`)
          .set(as(users.ana))
          .expect(200)
      ).body.items;
    const verify = async () =>
      (
        await api()
          .get('/api/control-plane/audit/verify')
          .set(as(users.ana))
          .expect(200)
      ).body;

    it.each([
      [
        'an alias bomb',
        () => ({ 'resources/payments/bomb.yaml': aliasBomb }),
        /resources\/payments\/bomb\.yaml: invalid YAML: .*alias/i,
      ],
      [
        'a file too large',
        () => ({
          'resources/payments/huge.yaml': `${resourceYaml('huge')}#${'x'.repeat(
            1024 * 1024,
          )}\n`,
        }),
        /resources\/payments\/huge\.yaml: too large: \d+ bytes/,
      ],
      [
        'malformed YAML',
        () => ({
          'resources/payments/broken.yaml': 'apiVersion: [idp.multicloud/v1\n',
        }),
        /resources\/payments\/broken\.yaml: invalid YAML/,
      ],
      [
        'an exception thrown in validation',
        () => {
          const product = DesiredState.prototype.product;
          jest
            .spyOn(DesiredState.prototype, 'product')
            .mockImplementation(function throwingProduct(
              this: DesiredState,
              id: string,
            ) {
              if (id === 'boom') {
                throw new TypeError(
                  "Cannot read properties of undefined (reading 'includes')",
                );
              }
              return product.call(this, id);
            });
          return {
            'resources/payments/boom.yaml': resourceYaml('boom', 'boom'),
          };
        },
        /could not be indexed: TypeError: Cannot read properties of undefined/,
      ],
      [
        'the product named constructor',
        () => ({
          'resources/payments/proto.yaml': resourceYaml('proto', 'constructor'),
        }),
        /./,
      ],
    ])(
      'a head that cannot be indexed (%s) is a recorded, audited rejection, and the API keeps accepting changes',
      async (_cause, files, error) => {
        const clone = handClone(cp.repoPath, work);
        const bad = clone.push(files(), ['a change that cannot be indexed']);

        const sync = await api()
          .post('/api/control-plane/gitops/sync')
          .set(as(users.ana));
        expect(sync.status).toBe(200);
        expect(sync.body.result).toMatchObject({
          status: 'rejected',
          commit: bad,
          errors: [expect.stringMatching(error)],
        });
        expect(sync.body.status.rejected[0]).toMatchObject({
          commit: bad,
          author: PUSHER,
        });
        // Finding 8: the refused push is in the audit log, in the pusher's (unverified) name.
        const [refused] = await auditOf(
          'action=state-repo.sync&outcome=rejected',
        );
        expect(refused).toMatchObject({
          actor: PUSHER,
          commit: bad,
          verified: false,
          reason: expect.stringMatching(error),
        });

        // Writes keep working, on the last good head; the next sync answers too.
        const created = await createDb('orders-db');
        expect(created.status).toBe(201);
        const status = await api()
          .get('/api/control-plane/gitops/status')
          .set(as(users.ana))
          .expect(200);
        expect(status.body.inSync).toBe(true);
        expect(status.body.indexedCommit).not.toBe(bad);
        await api()
          .post('/api/control-plane/gitops/sync')
          .set(as(users.ana))
          .expect(200);
        expect(await verify()).toMatchObject({ valid: true });
      },
    );

    it('a YAML alias bomb or a document nested too deep sent to /manifests/plan is a 400 naming the document', async () => {
      const ok = resourceYaml('fine');
      for (const [yaml, message] of [
        [`${ok}---\n${aliasBomb}\n`, /alias/i],
        [
          `${ok}---\nspec: ${'['.repeat(100)}${']'.repeat(100)}\n`,
          /nested too deep/,
        ],
      ] as const) {
        const res = await api()
          .post('/api/control-plane/manifests/plan')
          .set(as(users.bruno))
          .send({ yaml });
        expect(res.status).toBe(400);
        expect(res.body.error.issues).toEqual(
          expect.arrayContaining([
            { path: 'document 2', message: expect.stringMatching(message) },
          ]),
        );
      }
    });

    it('a hand push claiming to be a user, a delete, an address and an audit anchor is recorded as an unverified push of its author', async () => {
      await createDb('adm-db').expect(201);
      const apiCommit = git(cp.repoPath, 'rev-parse', 'main');
      const [created] = await auditOf('action=resource.create');
      expect(created).toMatchObject({
        actor: users.bruno,
        commit: apiCommit,
        verified: true,
      });
      // Even the signature of a real control-plane commit, copied, proves nothing.
      const signature = git(
        cp.repoPath,
        'log',
        '-1',
        '--format=%(trailers:key=Control-Plane-Signature)',
        'main',
      );
      expect(signature).toMatch(/^Control-Plane-Signature: v1 /);

      const clone = handClone(cp.repoPath, work);
      const pushed = clone.push(
        { 'resources/payments/cache.yaml': resourceYaml('cache') },
        [
          'delete resource:default/adm-db',
          [
            'Action: resource.delete',
            'Target: resource:default/adm-db',
            'Source-Ip: 6.6.6.6',
            'Request-Id: req-forged',
            'Approved-by: user:default/ana',
            `Audit-Head: 1 ${'0'.repeat(64)}`,
            signature,
          ].join('\n'),
        ],
        'user:default/ana <ana@x>',
      );
      await api()
        .post('/api/control-plane/gitops/sync')
        .set(as(users.ana))
        .expect(200);

      expect(await auditOf('action=resource.delete')).toEqual([]);
      expect(
        (await auditOf(`actor=${encodeURIComponent(users.ana)}`)).filter(
          (e: any) => e.commit === pushed,
        ),
      ).toEqual([]);
      const events = (await auditOf('limit=50')).filter(
        (e: any) => e.commit === pushed,
      );
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        actor: 'git:user:default/ana <ana@x>',
        action: 'state-repo.push',
        target: 'state-repo',
        source: {},
        approvers: [],
        verified: false,
        reason: expect.stringContaining('Action: resource.delete'),
      });
      expect(events[0].requestId).toBeUndefined();
      // So are the transitions its commit causes.
      const [transition] = await auditOf(
        `action=resource.transition&target=${encodeURIComponent(
          'resource:payments/cache',
        )}`,
      );
      expect(transition).toMatchObject({
        actor: 'git:user:default/ana <ana@x>',
        verified: false,
      });
      // The forged anchor is not the chain's: verify does not read it.
      expect(await verify()).toMatchObject({ valid: true });
      // The resource the push names is untouched.
      const db = await api()
        .get('/api/control-plane/resources/default/adm-db')
        .set(as(users.bruno));
      expect(db.body.status.state).toBe('PENDING');
    });

    it('verify checks the anchor of every control-plane commit: deleted events stay found after later commits, and a pushed anchor hides nothing', async () => {
      await createDb('first-db').expect(201);
      const first = git(cp.repoPath, 'rev-parse', 'main');
      const [own] = await cp.knex('audit_events').where({ commit_sha: first });
      // Someone with SQL deletes the newest events, from the first commit's own event on...
      await cp.knex('audit_events').where('id', '>=', Number(own.id)).delete();
      const last = await cp.knex('audit_events').orderBy('id', 'desc').first();
      // ...and pushes a commit anchoring the shortened chain.
      handClone(cp.repoPath, work).push(
        { 'resources/payments/cache.yaml': resourceYaml('cache') },
        ['add a cache', `Audit-Head: ${last.id} ${last.hash}`],
      );
      await api()
        .post('/api/control-plane/gitops/sync')
        .set(as(users.ana))
        .expect(200);
      // Then an ordinary change anchors the chain as it now is.
      await createDb('second-db').expect(201);
      const verdict = await verify();
      expect(verdict).toMatchObject({
        valid: false,
        firstBroken: {
          reason: expect.stringContaining(
            `the event of commit ${first.slice(0, 12)}`,
          ),
        },
      });
      // Named at the earliest place it can have been: after the event the commit anchored.
      expect(verdict.firstBroken.id).toBeLessThanOrEqual(Number(own.id));
    });

    it('rows rewritten without the key are found, even after a later commit anchors them', async () => {
      await createDb('first-db').expect(201);
      const rows = await cp.knex('audit_events').orderBy('id', 'asc');
      const victim = rows.find((r: any) => r.action === 'resource.create');
      // Rewrite the event and re-hash it and every later one as an attacker can: sha256,
      // as the chain was hashed before it was keyed.
      let prev = victim.prev_hash;
      for (const row of rows.filter((r: any) => r.id >= victim.id)) {
        const forged = {
          ...row,
          actor: row.id === victim.id ? users.ana : row.actor,
          prev_hash: prev,
          key_id: null,
        };
        delete forged.hash;
        const hash = legacyHashAuditRow(forged);
        await cp
          .knex('audit_events')
          .where({ id: row.id })
          .update({ actor: forged.actor, prev_hash: prev, key_id: null, hash });
        prev = hash;
      }
      await createDb('second-db').expect(201);
      expect(await verify()).toMatchObject({
        valid: false,
        firstBroken: { id: Number(victim.id) },
      });
    });

    it('a request whose target is 200 emoji is audited, stored as hashed, and the chain stays valid', async () => {
      const name = '😀'.repeat(200);
      const res = await api()
        .delete(
          `/api/control-plane/resources/payments/${encodeURIComponent(name)}`,
        )
        .set(as(users.ana));
      expect(res.status).toBe(400);
      const [event] = await auditOf('outcome=rejected&action=resource.delete');
      // 218 code points, within the column: stored whole (clipped at 255 UTF-16 units, it
      // would end in half an emoji, hashed as such and stored as U+FFFD).
      expect(event.target).toBe(`resource:payments/${name}`);
      expect(await verify()).toEqual({
        valid: true,
        checked: expect.any(Number),
      });
    });
  },
);
