import { TestDatabases } from '@backstage/backend-test-utils';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const yaml = `
apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: orders-db
  namespace: payments
spec:
  product: postgres
  owner: group:default/payments
  tier: high
  cell: cell-eu
  params:
    size: small
---
apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: orders-api
  namespace: payments
spec:
  product: webapp
  owner: group:default/payments
  component: component:default/orders
  tier: high
  cell: cell-eu
  params:
    image: ghcr.io/acme/orders
    version: 1.0.0
  dependsOn: [resource:payments/orders-db]
`;

describe.each(databases.eachSupportedId())(
  'manifests API on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
    });
    afterEach(() => cp.cleanup());

    const commits = () =>
      Number(
        execFileSync('git', ['rev-list', '--count', 'main'], {
          cwd: cp.repoPath,
        }).toString(),
      );
    const post = (path: string, body: object, user = users.bruno) =>
      request(cp.server)
        .post(`/api/control-plane/manifests/${path}`)
        .set('authorization', authAs(user))
        .send(body);

    it('plans without writing, applies as one commit, and plans nothing more afterwards', async () => {
      const before = commits();
      const plan = await post('plan', { yaml });
      expect(plan.status).toBe(200);
      expect(plan.body.summary).toEqual({
        create: 2,
        update: 0,
        delete: 0,
        unchanged: 0,
      });
      expect(plan.body.changes.map((c: any) => [c.ref, c.action])).toEqual([
        ['resource:payments/orders-db', 'create'],
        ['resource:payments/orders-api', 'create'],
      ]);
      expect(commits()).toBe(before);

      const applied = await post('apply', { yaml });
      expect(applied.status).toBe(200);
      expect(applied.body.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(commits()).toBe(before + 1);

      const again = await post('plan', { yaml });
      expect(again.body.summary).toEqual({
        create: 0,
        update: 0,
        delete: 0,
        unchanged: 2,
      });

      const changed = await post('plan', {
        yaml: yaml.replace('size: small', 'size: large'),
      });
      expect(changed.body.changes[0]).toEqual({
        kind: 'Resource',
        ref: 'resource:payments/orders-db',
        action: 'update',
        fields: [{ path: 'spec.params.size', before: 'small', after: 'large' }],
        cost: {
          before: expect.any(Number),
          after: expect.any(Number),
          delta: expect.any(Number),
        },
      });
      // A larger size costs more a month.
      expect(changed.body.changes[0].cost.delta).toBeGreaterThan(0);
    });

    it('prunes resources of the namespace the YAML leaves out, when asked', async () => {
      await post('apply', { yaml }).expect(200);
      const onlyDb = yaml.split('---')[0];
      // Pruning orders-api is allowed: it is the dependent, not the dependency.
      const plan = await post('plan', { yaml: onlyDb, prune: true });
      expect(plan.status).toBe(200);
      expect(plan.body.changes).toContainEqual(
        expect.objectContaining({
          ref: 'resource:payments/orders-api',
          action: 'delete',
        }),
      );
      const applied = await post('apply', { yaml: onlyDb, prune: true });
      expect(applied.status).toBe(200);
      const status = await request(cp.server)
        .get('/api/control-plane/resources/payments/orders-api/status')
        .set('authorization', authAs(users.bruno));
      expect(status.body.state).toBe('DELETING');
    });

    it('names the document and field of a bad manifest, writing nothing', async () => {
      const before = commits();
      const res = await post('apply', {
        yaml: yaml.replace(
          'tier: high\n  cell: cell-eu\n  params:\n    image',
          'tier: gold\n  cell: cell-eu\n  params:\n    image',
        ),
      });
      expect(res.status).toBe(400);
      expect(res.body.error.issues).toContainEqual({
        path: 'document 2.spec.tier',
        message: expect.any(String),
      });
      expect(commits()).toBe(before);

      const cyclic = await post('apply', {
        yaml: `${yaml}---
apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: a, namespace: payments }
spec: { product: webapp, owner: group:default/payments, tier: low, cell: cell-eu, params: { image: x/a, version: '1' }, dependsOn: [payments/b] }
---
apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: b, namespace: payments }
spec: { product: webapp, owner: group:default/payments, tier: low, cell: cell-eu, params: { image: x/b, version: '1' }, dependsOn: [payments/a] }
`,
      });
      expect(cyclic.status).toBe(400);
      expect(cyclic.body.error.message).toContain(
        'dependency cycle: resource:payments/a → resource:payments/b → resource:payments/a',
      );
      expect(commits()).toBe(before);
    });

    it('needs policy.manage for products and tiers, and ownership for resources', async () => {
      const tier = `apiVersion: idp.multicloud/v1
kind: Tier
metadata: { name: low }
spec:
  description: cheaper still
  placement: { minProviderHealth: 0.1, requireMultiAZ: false, maxClusterUtilization: 0.99 }
  sla: { availability: 98, p99LatencyMs: 2000, rtoMinutes: 2880, rpoMinutes: 2880 }
  requiredFeatures: { backups: false, multiAZ: false, encryption: false }
  operations: { maxAttempts: 2, stepTimeoutSeconds: 600 }
`;
      expect((await post('apply', { yaml: tier })).status).toBe(403);
      expect((await post('apply', { yaml: tier }, users.ana)).status).toBe(200);
      const foreign = await post('apply', {
        yaml: yaml.replaceAll('group:default/payments', 'group:default/search'),
      });
      expect(foreign.status).toBe(403);
    });

    it('refuses a Policy from a developer with 403, and nothing changes', async () => {
      const denyAll = `apiVersion: idp.multicloud/v1
kind: Policy
metadata: { name: deny-all }
spec:
  description: nobody may request anything
  products: { allow: [] }
`;
      const before = commits();
      for (const path of ['plan', 'apply']) {
        const res = await post(path, { yaml: denyAll });
        expect(res.status).toBe(403);
        expect(res.body.error.message).toContain('control-plane.policy.manage');
      }
      expect(commits()).toBe(before);
      const policies = await request(cp.server)
        .get('/api/control-plane/policies')
        .set('authorization', authAs(users.bruno));
      expect(policies.body.items).toEqual([]);
      // Others may still request what they may.
      expect((await post('apply', { yaml })).status).toBe(200);
    });

    it('authorizes a plan before checking it against the desired state', async () => {
      // Against the desired state this YAML is wrong (no such cell, no such dependency),
      // but a caller who may not write it learns only that.
      const probing = yaml
        .replaceAll('group:default/payments', 'group:default/search')
        .replaceAll('cell-eu', 'cell-secret')
        .replace('resource:payments/orders-db', 'resource:payments/hidden-db');
      for (const user of [users.bruno, users.eve]) {
        const res = await post('plan', { yaml: probing }, user);
        expect(res.status).toBe(403);
        expect(JSON.stringify(res.body)).not.toContain('cell-secret');
      }
      // The owner sees what is wrong with it.
      const own = await post('plan', {
        yaml: yaml.replaceAll('cell-eu', 'cell-secret'),
      });
      expect(own.status).toBe(400);
      expect(own.body.error.message).toContain('no cell cell-secret');
    });

    it('reports in the plan what admission would refuse, which apply then refuses', async () => {
      await post(
        'apply',
        {
          yaml: `apiVersion: idp.multicloud/v1
kind: Quota
metadata: { name: payments-ns }
spec:
  scope: { kind: namespace, name: payments }
  limits: { maxInstances: 1 }
`,
        },
        users.ana,
      ).expect(200);
      const before = commits();
      const plan = await post('plan', { yaml });
      expect(plan.status).toBe(200);
      expect(plan.body.summary.create).toBe(2);
      expect(plan.body.refusals).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            ref: expect.stringMatching(/^resource:payments\//),
            code: expect.stringMatching(/^quota\./),
            message: expect.stringContaining('payments-ns'),
          }),
        ]),
      );
      // Planning records no decision.
      const decisions = await request(cp.server)
        .get('/api/control-plane/audit?action=policy.decision')
        .set('authorization', authAs(users.ana));
      expect(decisions.body.items).toEqual([]);

      const applied = await post('apply', { yaml });
      expect(applied.status).toBe(422);
      expect(applied.body.error.name).toBe('QuotaExceededError');
      expect(commits()).toBe(before);
      // Within the quota, the plan lists no refusal.
      const one = await post('plan', { yaml: yaml.split('---')[0] });
      expect(one.body.refusals).toEqual([]);
    });
  },
);
