import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
// The real control plane, to test the module where it runs (a test-only dependency).
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { builtinProducts } from '@idp-multicloud/plugin-control-plane-common';
import { Octokit } from '@octokit/rest';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { stringify } from 'yaml';
import { FakeGitHub } from './__testUtils__/fakeGitHub';
import { controlPlaneModuleGithub } from './module';

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
jest.setTimeout(90_000);

const jane = 'user:default/jane';
const secret = 'webhook-s3cret';
const token = 'ghp_test_token';

const ledger = `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: ledger-db
  namespace: payments
spec:
  product: mysql
  owner: group:default/payments
  tier: critical
  cell: cell-us
  params:
    size: small
`;

describe.each(databases.eachSupportedId())(
  'changes by pull request on GitHub, on %s',
  databaseId => {
    let work: string;
    let remote: string;
    let github: FakeGitHub;
    let backend: Awaited<ReturnType<typeof startTestBackend>>;
    /** A person using GitHub: merging goes through GitHub's API, as the button does. */
    let person: Octokit;

    beforeEach(async () => {
      work = mkdtempSync(join(tmpdir(), 'idp-github-'));
      remote = join(work, 'state.git');
      execFileSync('git', ['init', '--bare', '--quiet', '-b', 'main', remote]);
      github = await FakeGitHub.start({
        owner: 'acme',
        repo: 'state',
        token,
        gitDir: remote,
        requiredChecks: ['idp plan'],
      });
      github.addTeamMember('platform', 'alice');
      person = new Octokit({ auth: token, baseUrl: github.url });
      backend = await startTestBackend({
        features: [
          controlPlanePlugin,
          controlPlaneModuleGithub,
          // the catalog: the payments group is the GitHub team payments-squad
          catalogServiceMock.factory({
            entities: [
              {
                apiVersion: 'backstage.io/v1alpha1',
                kind: 'Group',
                metadata: {
                  name: 'payments',
                  namespace: 'default',
                  annotations: {
                    'github.com/team-slug': 'acme/payments-squad',
                  },
                },
                spec: { type: 'team', children: [] },
              },
            ],
          }),
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
          mockServices.rootConfig.factory({
            data: {
              integrations: {
                github: [{ host: 'ghe.test', apiBaseUrl: github.url, token }],
              },
              controlPlane: {
                dataDir: join(work, 'data'),
                stateRepo: {
                  pollInterval: { hours: 1 },
                  remote: { url: remote },
                },
                orchestration: { enabled: false },
                reconciler: {
                  interval: { hours: 1 },
                  driftInterval: { hours: 1 },
                },
                // API and credentials from the host's Backstage integration
                github: {
                  owner: 'acme',
                  repo: 'state',
                  host: 'ghe.test',
                  webhookSecret: secret,
                  pollInterval: '1h',
                  review: { tiers: ['critical'] },
                  approvals: [
                    { tiers: ['critical'], count: 2, teams: ['platform'] },
                    // definitions: two approvals, one from platform
                    { kinds: ['Product'], count: 2, teams: ['platform'] },
                  ],
                },
              },
            },
          }),
        ],
      });
    });

    afterEach(async () => {
      await backend?.stop();
      await github?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    const api = () => {
      const as = mockCredentials.user.header(jane);
      const base = '/api/control-plane';
      return {
        get: (path: string) =>
          request(backend.server)
            .get(`${base}${path}`)
            .set('authorization', as),
        post: (path: string, body?: object, key?: string) => {
          const call = request(backend.server)
            .post(`${base}${path}`)
            .set('authorization', as);
          return (key ? call.set('idempotency-key', key) : call).send(body);
        },
      };
    };
    /** GitHub delivering a webhook event, signed with `key`. */
    const deliver = (event: string, payload: object, key = secret) => {
      const body = JSON.stringify(payload);
      return request(backend.server)
        .post('/api/control-plane/github/webhook')
        .set('content-type', 'application/json')
        .set('x-github-event', event)
        .set(
          'x-hub-signature-256',
          `sha256=${createHmac('sha256', key).update(body).digest('hex')}`,
        )
        .send(body);
    };
    const mainOfRemote = () =>
      execFileSync('git', ['rev-parse', 'main'], { cwd: remote })
        .toString()
        .trim();

    it('opens a pull request for a tier-critical change, blocks its merge until two approvals (one from platform), then applies it and audits both approvers', async () => {
      const a = api();
      const before = mainOfRemote();

      // Sent straight to the API, a critical change is not committed: it needs review, so
      // the control plane opens a pull request for it and answers 202 with the proposal.
      const direct = await a.post('/resources', {
        product: 'mysql',
        name: 'ledger-db',
        namespace: 'payments',
        owner: 'group:default/payments',
        tier: 'critical',
        cell: 'cell-us',
        params: { size: 'small' },
      });
      expect(direct.status).toBe(202);
      expect(direct.headers.location).toBe(
        `changes/proposals/${direct.body.proposal.id}`,
      );
      const proposed = { body: direct.body.proposal };
      expect(proposed.body).toMatchObject({
        status: 'awaiting-approval',
        actor: jane,
        title: 'resource:payments/ledger-db: create 1',
        pullRequest: { number: 1, url: `${github.url}/acme/state/pull/1` },
        objects: [
          {
            ref: 'resource:payments/ledger-db',
            action: 'create',
            tier: 'critical',
          },
        ],
      });
      // Nothing exists until the pull request is merged.
      await a.get('/resources/payments/ledger-db').expect(404);
      const id = proposed.body.id;
      expect(mainOfRemote()).toBe(before);
      // The branch holds the change; the pull request carries the plan and the check.
      const pr = github.pulls[0];
      expect(pr.head.ref).toBe(proposed.body.branch);
      expect(pr.head.sha).toBe(proposed.body.commit);
      expect(
        execFileSync(
          'git',
          ['show', `${pr.head.sha}:resources/payments/ledger-db.yaml`],
          {
            cwd: remote,
          },
        ).toString(),
      ).toContain('tier: critical');
      // Who must review, as CODEOWNERS: the owning team (the catalog group's GitHub team)
      // and, for tier critical, platform.
      expect(
        execFileSync('git', ['show', `${pr.head.sha}:.github/CODEOWNERS`], {
          cwd: remote,
        }).toString(),
      ).toContain(
        '/resources/payments/ledger-db.yaml @acme/payments-squad @acme/platform',
      );
      expect(github.comments[0].body).toContain(
        '| create | `resource:payments/ledger-db` |',
      );
      expect(github.comments[0].body).toMatch(
        /\*\*Monthly cost\*\*: \$0\.00 → \$\d+/,
      );
      expect(github.comments[0].body).toContain('**Breaking changes**: none');
      expect(github.checkRuns).toEqual([
        expect.objectContaining({
          name: 'idp plan',
          head_sha: pr.head.sha,
          conclusion: 'action_required',
        }),
      ]);

      // A retry with the same Idempotency-Key answers the same proposal, opening no other.
      const key = 'ledger-db-create';
      const keyed = await a.post('/manifests/apply', { yaml: ledger }, key);
      const again = await a.post('/manifests/apply', { yaml: ledger }, key);
      expect(keyed.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body.proposal.id).toBe(keyed.body.proposal.id);
      expect(github.pulls).toHaveLength(2);
      // Closed unmerged: the proposal is closed, nothing applied.
      await person.pulls.update({
        owner: 'acme',
        repo: 'state',
        pull_number: 2,
        state: 'closed',
      });
      await deliver('pull_request', {
        action: 'closed',
        pull_request: { number: 2, merged: false },
      }).expect(202);
      const closed = await a
        .get(`/changes/proposals/${keyed.body.proposal.id}`)
        .expect(200);
      expect(closed.body.status).toBe('closed');

      // One approval, from platform: merging is still refused by the check.
      github.review(1, 'alice', 'APPROVED');
      await deliver('pull_request_review', {
        action: 'submitted',
        pull_request: { number: 1 },
      }).expect(202);
      const one = await a.get(`/changes/proposals/${id}`).expect(200);
      expect(one.body).toMatchObject({
        status: 'awaiting-approval',
        approvers: ['alice'],
      });
      expect(github.checkRuns[0].output.title).toContain('1 more approval');
      await expect(
        person.pulls.merge({ owner: 'acme', repo: 'state', pull_number: 1 }),
      ).rejects.toMatchObject({ status: 405 });
      expect(mainOfRemote()).toBe(before);

      // The second approval: the check passes, the merge goes through.
      github.review(1, 'bob', 'APPROVED');
      const two = await a.get(`/changes/proposals/${id}`).expect(200);
      expect(two.body.approvers).toEqual(['alice', 'bob']);
      expect(github.checkRuns[0]).toMatchObject({
        conclusion: 'success',
        output: { title: 'Approved by alice, bob' },
      });
      const merged = await person.pulls.merge({
        owner: 'acme',
        repo: 'state',
        pull_number: 1,
      });
      expect(mainOfRemote()).toBe(merged.data.sha);

      // GitHub tells the control plane: the main branch is indexed, the change applied.
      await deliver('pull_request', {
        action: 'closed',
        pull_request: { number: 1, merged: true },
      }).expect(202);
      const applied = await a.get(`/changes/proposals/${id}`).expect(200);
      expect(applied.body).toMatchObject({
        status: 'applied',
        mergeCommit: merged.data.sha,
        approvers: ['alice', 'bob'],
      });
      const resource = await a.get('/resources/payments/ledger-db').expect(200);
      expect(resource.body.spec.tier).toBe('critical');
      const audit = await a.get('/audit?action=change.applied').expect(200);
      expect(audit.body.items).toEqual([
        expect.objectContaining({
          actor: jane,
          target: `change:${id}`,
          approvers: ['alice', 'bob'],
        }),
      ]);

      // Rolling it back needs the same review: the revert is proposed, approved, merged.
      const [creation] = (
        await a.get('/changes?resource=payments/ledger-db').expect(200)
      ).body.items.filter((c: any) => c.objects[0].action === 'create');
      const revert = await a.post(`/changes/${creation.sha}/revert/proposal`);
      expect(revert.status).toBe(202);
      expect(revert.body).toMatchObject({
        status: 'awaiting-approval',
        title: expect.stringMatching(/^Revert "/),
        objects: [{ ref: 'resource:payments/ledger-db', action: 'delete' }],
        pullRequest: { number: 3 },
      });
      expect(github.comments[2].body).toContain(
        '| delete | `resource:payments/ledger-db` |',
      );
      expect(github.comments[2].body).toContain('[resource.deleted]');
      github.review(3, 'alice', 'APPROVED');
      github.review(3, 'bob', 'APPROVED');
      await a.get(`/changes/proposals/${revert.body.id}`).expect(200);
      await person.pulls.merge({
        owner: 'acme',
        repo: 'state',
        pull_number: 3,
      });
      const reverted = await a
        .get(`/changes/proposals/${revert.body.id}`)
        .expect(200);
      expect(reverted.body.status).toBe('applied');
      expect(() =>
        execFileSync(
          'git',
          ['cat-file', '-e', 'main:resources/payments/ledger-db.yaml'],
          { cwd: remote, stdio: 'pipe' },
        ),
      ).toThrow();
    });

    it('proposes an acknowledged breaking change of a definition as a pull request with its migration guide, needing the approvals of platform and of the architects payments names', async () => {
      const a = api();
      for (const ns of ['payments', 'orders']) {
        await a
          .post('/resources', {
            product: 'mysql',
            name: `${ns}-db`,
            namespace: ns,
            owner: `group:default/${ns}`,
            tier: 'medium',
            cell: 'cell-us',
            params: { size: 'small' },
          })
          .expect(201);
      }
      const spec = structuredClone(builtinProducts.mysql);
      delete (
        spec.parameters as unknown as { properties: Record<string, unknown> }
      ).properties.highAvailability;
      const yaml = stringify({
        apiVersion: 'idp.multicloud/v1',
        kind: 'Product',
        metadata: { name: 'mysql' },
        spec,
      });
      // payments' own policy: its architects approve breaking changes
      await a
        .post('/manifests/apply', {
          yaml: stringify({
            apiVersion: 'idp.multicloud/v1',
            kind: 'Project',
            metadata: { name: 'payments' },
            spec: { approvals: { breaking: ['group:default/architects'] } },
          }),
        })
        .expect(200);
      github.addTeamMember('architects', 'dave');
      const before = mainOfRemote();
      // unacknowledged: refused before anything is proposed
      const refused = await a.post('/manifests/apply', { yaml });
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain('acknowledgeBreaking');
      expect(github.pulls).toHaveLength(0);
      // acknowledged: it needs review, so it becomes a pull request
      const proposed = await a.post('/manifests/apply', {
        yaml,
        acknowledgeBreaking: true,
      });
      expect(proposed.status).toBe(202);
      expect(proposed.body.proposal.objects).toEqual([
        // the built-in definition, written to the state repository for the first time
        expect.objectContaining({ ref: 'product:mysql', action: 'create' }),
      ]);
      expect(mainOfRemote()).toBe(before);
      expect(github.comments[0].body).toContain(
        '[parameter.removed] product:mysql: parameter highAvailability is removed',
      );
      expect(github.comments[0].body).toContain(
        '#### Migration guide: product mysql',
      );
      expect(github.checkRuns[0].output.title).toBe(
        'Waiting for approvals: 2 approvals, one from platform, one from architects',
      );
      expect(
        execFileSync(
          'git',
          ['show', `${github.pulls[0].head.sha}:.github/CODEOWNERS`],
          { cwd: remote },
        ).toString(),
      ).toContain('/products/ @acme/platform');
      github.review(1, 'bob', 'APPROVED');
      github.review(1, 'carol', 'APPROVED');
      const twoOthers = await a
        .get(`/changes/proposals/${proposed.body.proposal.id}`)
        .expect(200);
      expect(twoOthers.body.status).toBe('awaiting-approval');
      expect(github.checkRuns[0].output.title).toContain(
        'an approval from a member of platform',
      );
      github.review(1, 'alice', 'APPROVED');
      await a
        .get(`/changes/proposals/${proposed.body.proposal.id}`)
        .expect(200);
      // platform approved; payments' architects have not yet
      await expect(
        person.pulls.merge({ owner: 'acme', repo: 'state', pull_number: 1 }),
      ).rejects.toMatchObject({ status: 405 });
      github.review(1, 'dave', 'APPROVED');
      await a
        .get(`/changes/proposals/${proposed.body.proposal.id}`)
        .expect(200);
      await person.pulls.merge({
        owner: 'acme',
        repo: 'state',
        pull_number: 1,
      });
      const applied = await a
        .get(`/changes/proposals/${proposed.body.proposal.id}`)
        .expect(200);
      expect(applied.body.status).toBe('applied');
      const changes = await a.get('/definition-changes').expect(200);
      expect(changes.body.items).toEqual([
        expect.objectContaining({
          product: 'mysql',
          affected: expect.objectContaining({
            projects: ['orders', 'payments'],
          }),
        }),
      ]);
    });

    it('refuses a webhook delivery without a valid signature, and follows a closed pull request', async () => {
      const a = api();
      const proposed = await a
        .post('/changes/proposals', { yaml: ledger })
        .expect(202);
      const forged = await deliver(
        'pull_request',
        { action: 'closed', pull_request: { number: 1 } },
        'not-the-secret',
      );
      expect(forged.status).toBe(401);

      await person.pulls.update({
        owner: 'acme',
        repo: 'state',
        pull_number: 1,
        state: 'closed',
      });
      const closed = await a
        .get(`/changes/proposals/${proposed.body.id}`)
        .expect(200);
      expect(closed.body.status).toBe('closed');
      expect((await a.get('/resources/payments/ledger-db')).status).toBe(404);
      expect(
        (await a.get('/changes/proposals/00000000-0000-4000-8000-000000000000'))
          .status,
      ).toBe(404);
    });
  },
);

describe('without controlPlane.github', () => {
  it('adds nothing: changes are committed directly, proposals are refused, no webhook route', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-github-off-'));
    const backend = await startTestBackend({
      features: [
        controlPlanePlugin,
        controlPlaneModuleGithub,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: {
            controlPlane: {
              dataDir,
              stateRepo: { pollInterval: { hours: 1 } },
              orchestration: { enabled: false },
            },
          },
        }),
      ],
    });
    try {
      const as = mockCredentials.user.header(jane);
      const post = (path: string, body: object) =>
        request(backend.server)
          .post(`/api/control-plane${path}`)
          .set('authorization', as)
          .send(body);
      const proposed = await post('/changes/proposals', { yaml: ledger });
      expect(proposed.status).toBe(409);
      expect(proposed.body.error.message).toContain('pull request module');
      await post('/manifests/apply', { yaml: ledger }).expect(200);
      const webhook = await request(backend.server)
        .post('/api/control-plane/github/webhook')
        .send({});
      expect(webhook.status).not.toBe(202);
    } finally {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('polling, when no webhook arrives', () => {
  it('picks up a merged pull request on its own', async () => {
    const work = mkdtempSync(join(tmpdir(), 'idp-github-poll-'));
    const remote = join(work, 'state.git');
    execFileSync('git', ['init', '--bare', '--quiet', '-b', 'main', remote]);
    const github = await FakeGitHub.start({
      owner: 'acme',
      repo: 'state',
      token,
      gitDir: remote,
    });
    const backend = await startTestBackend({
      features: [
        controlPlanePlugin,
        controlPlaneModuleGithub,
        // the real scheduler: the poll runs on its interval
        schedulerServiceFactory,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: {
            controlPlane: {
              dataDir: join(work, 'data'),
              stateRepo: {
                pollInterval: { hours: 1 },
                remote: { url: remote },
              },
              orchestration: { enabled: false },
              github: {
                owner: 'acme',
                repo: 'state',
                baseUrl: github.url,
                token,
                pollInterval: '1s',
              },
            },
          },
        }),
      ],
    });
    try {
      const as = mockCredentials.user.header(jane);
      const proposed = await request(backend.server)
        .post('/api/control-plane/changes/proposals')
        .set('authorization', as)
        .send({ yaml: ledger })
        .expect(202);
      github.review(1, 'alice', 'APPROVED');
      await new Octokit({ auth: token, baseUrl: github.url }).pulls.merge({
        owner: 'acme',
        repo: 'state',
        pull_number: 1,
      });
      // Nobody asks: the audit event of the applied change appears by itself.
      const deadline = Date.now() + 20_000;
      let applied: any[] = [];
      while (applied.length === 0 && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 250));
        applied = (
          await request(backend.server)
            .get('/api/control-plane/audit?action=change.applied')
            .set('authorization', as)
        ).body.items;
      }
      expect(applied).toEqual([
        expect.objectContaining({
          target: `change:${proposed.body.id}`,
          approvers: ['alice'],
        }),
      ]);
    } finally {
      await backend.stop();
      await github.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
