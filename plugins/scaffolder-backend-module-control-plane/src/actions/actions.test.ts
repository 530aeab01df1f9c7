import { createMockDirectory } from '@backstage/backend-test-utils';
import { startControlPlane, users } from '../__testUtils__/controlPlane';
import { createManifestApplyAction } from './applyManifests';
import { createResourceCreateAction } from './createResource';
import { createResourceDeleteAction } from './deleteResource';
import { createCostEstimateAction } from './estimateCost';
import { createResourceWaitAction } from './waitForResource';

jest.setTimeout(60_000);

describe('the control plane actions, against a running control plane', () => {
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterAll(() => cp.stop());

  const mysql = (name: string, extra: Record<string, unknown> = {}) => ({
    product: 'mysql',
    name,
    owner: 'group:default/payments',
    component: 'component:default/checkout',
    tier: 'medium',
    cell: 'cell-us',
    params: { size: 'large' },
    ...extra,
  });

  /** The outputs an action context was given, by name. */
  const outputsOf = (ctx: { output: jest.Mock }) =>
    Object.fromEntries(ctx.output.mock.calls);

  describe('control-plane:resource:create', () => {
    it('creates a resource as the template user, waits until it is READY, and outputs where it runs', async () => {
      const action = createResourceCreateAction(cp.options);
      const ctx = cp.context(mysql('orders-db', { wait: true }));
      await action.handler(ctx);

      const out = outputsOf(ctx);
      expect(out).toMatchObject({
        ref: 'resource:default/orders-db',
        state: 'READY',
        cell: 'cell-us',
        created: true,
      });
      expect(out.provider).toEqual(expect.any(String));
      expect(out.cluster).toEqual(expect.any(String));
      // The control plane saw the template user, not the scaffolder.
      const idp = cp.clientAs(users.ana);
      const audit = await idp.audit.list({ action: 'resource.create' });
      expect(
        audit.items.find(e => e.target === 'resource:default/orders-db'),
      ).toMatchObject({ actor: users.ana, outcome: 'accepted' });
    });

    it('creates nothing when the task is retried: the checkpoint and the idempotency key both hold', async () => {
      const action = createResourceCreateAction(cp.options);
      const ctx = cp.context(mysql('retried-db'));
      await action.handler(ctx);
      const idp = cp.clientAs(users.ana);
      const before = (await idp.gitops.status()).head;

      // The same task and step run again (a recovered task): the checkpoint answers.
      const recovered = cp.context(mysql('retried-db'), users.ana, {
        task: ctx.task,
      });
      await action.handler(recovered);
      expect(outputsOf(recovered)).toMatchObject({ created: true });
      // A run whose checkpoint was lost sends the same key: the first answer replays.
      const lost = cp.context(mysql('retried-db'), users.ana, {
        task: ctx.task,
        checkpoint: async ({ fn }: { fn: () => any }) => fn(),
      });
      await action.handler(lost);
      expect(outputsOf(lost)).toMatchObject({ created: true });

      expect((await idp.gitops.status()).head).toBe(before);
      const page = await idp.resources.list({ namespace: 'default' });
      expect(
        page.items.filter(r => r.metadata.name === 'retried-db'),
      ).toHaveLength(1);
    });

    it('reuses an identical resource when the template runs again, and refuses a different one of that name', async () => {
      const action = createResourceCreateAction(cp.options);
      await action.handler(cp.context(mysql('again-db')));

      const second = cp.context(mysql('again-db'));
      await action.handler(second);
      expect(outputsOf(second)).toMatchObject({
        ref: 'resource:default/again-db',
        created: false,
      });

      await expect(
        action.handler(cp.context(mysql('again-db', { tier: 'high' }))),
      ).rejects.toThrow(
        /a different resource of that name exists \(tier is medium, not high\)/,
      );
    });

    it("fails with the control plane's field error, and creates nothing", async () => {
      const action = createResourceCreateAction(cp.options);
      const ctx = cp.context(mysql('huge-db', { params: { size: 'huge' } }));
      await expect(action.handler(ctx)).rejects.toThrow(
        /Could not create resource:default\/huge-db: params\.size: /,
      );
      await expect(
        cp.clientAs(users.ana).resources.get('default/huge-db'),
      ).rejects.toMatchObject({ statusCode: 404 });
    });

    it('names the fields of a bad input before calling the control plane', async () => {
      const action = createResourceCreateAction(cp.options);
      await expect(
        action.handler(
          cp.context(mysql('Bad_Name', { owner: 'payments', timeout: 'soon' })),
        ),
      ).rejects.toThrow(
        /Invalid input to control-plane:resource:create: name: must be lowercase.*; owner: must be a group or user entity ref.*; timeout: must be an ISO 8601 duration/,
      );
    });

    it('is refused when the template user may not create resources', async () => {
      const action = createResourceCreateAction(cp.options);
      await expect(
        action.handler(cp.context(mysql('eves-db'), users.eve)),
      ).rejects.toMatchObject({
        name: 'IdpForbiddenError',
        message: expect.stringMatching(
          /^Could not create resource:default\/eves-db: /,
        ),
      });
    });
  });

  describe('control-plane:resource:wait', () => {
    it('waits for a resource asked for by an earlier step', async () => {
      await createResourceCreateAction(cp.options).handler(
        cp.context({ ...mysql('cache'), product: 'redis', params: {} }),
      );
      const ctx = cp.context({ ref: 'default/cache', timeout: 'PT30S' });
      await createResourceWaitAction(cp.options).handler(ctx);
      expect(outputsOf(ctx)).toMatchObject({
        ref: 'resource:default/cache',
        state: 'READY',
        cell: 'cell-us',
      });
      // Its progress went to the task log.
      expect(ctx.logger.info).toHaveBeenCalledWith(
        expect.stringContaining('resource:default/cache: '),
      );
    });

    it('fails when the time runs out, saying what it waited for', async () => {
      await createResourceCreateAction(cp.options).handler(
        cp.context(mysql('slow-db')),
      );
      await expect(
        createResourceWaitAction(cp.options).handler(
          cp.context({ ref: 'default/slow-db', timeout: 'PT0.001S' }),
        ),
      ).rejects.toThrow(
        /Could not wait for resource:default\/slow-db: .*did not become READY/,
      );
    });
  });

  describe('control-plane:resource:delete', () => {
    it('refuses to delete what others depend on, and with cascade deletes dependents first', async () => {
      const create = createResourceCreateAction(cp.options);
      await create.handler(cp.context(mysql('shop-db', { wait: true })));
      await create.handler(
        cp.context({
          ...mysql('shop'),
          product: 'webapp',
          params: { image: 'ghcr.io/acme/shop', version: '1.0.0' },
          dependsOn: ['default/shop-db'],
          wait: true,
        }),
      );

      const action = createResourceDeleteAction(cp.options);
      await expect(
        action.handler(cp.context({ ref: 'default/shop-db' })),
      ).rejects.toThrow(/resource:default\/shop/);

      const ctx = cp.context({
        ref: 'resource:default/shop-db',
        cascade: true,
        wait: true,
      });
      await action.handler(ctx);
      expect(outputsOf(ctx).deleting).toEqual([
        'resource:default/shop',
        'resource:default/shop-db',
      ]);
      const idp = cp.clientAs(users.ana);
      for (const ref of ['default/shop', 'default/shop-db']) {
        await expect(idp.resources.get(ref)).rejects.toMatchObject({
          statusCode: 404,
        });
      }

      // Deleting it again (a retried task) succeeds with nothing to do.
      const again = cp.context({ ref: 'default/shop-db' });
      await action.handler(again);
      expect(outputsOf(again).deleting).toEqual([]);
    });
  });

  describe('control-plane:manifest:apply', () => {
    const manifests = `
apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: events, namespace: analytics }
spec:
  product: kafka
  owner: group:default/payments
  tier: medium
  cell: cell-eu
---
apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: reports, namespace: analytics }
spec:
  product: object-bucket
  owner: group:default/payments
  tier: low
  cell: cell-eu
`;

    it('plans in a dry run without writing, then applies a file of the workspace as one commit', async () => {
      const idp = cp.clientAs(users.ana);
      const action = createManifestApplyAction(cp.options);
      const headBefore = (await idp.gitops.status()).head;

      const dry = cp.context({ manifests }, users.ana, { isDryRun: true });
      await action.handler(dry);
      expect(outputsOf(dry).summary).toEqual({
        create: 2,
        update: 0,
        delete: 0,
        unchanged: 0,
      });
      expect(outputsOf(dry).commit).toBeUndefined();
      expect((await idp.gitops.status()).head).toBe(headBefore);

      const workspace = createMockDirectory({
        content: { 'infra/resources.yaml': manifests },
      });
      const ctx = cp.context({ path: 'infra/resources.yaml' }, users.ana, {
        workspacePath: workspace.path,
      });
      await action.handler(ctx);
      const out = outputsOf(ctx);
      expect(out.changes).toEqual([
        {
          kind: 'Resource',
          ref: 'resource:analytics/events',
          action: 'create',
        },
        {
          kind: 'Resource',
          ref: 'resource:analytics/reports',
          action: 'create',
        },
      ]);
      expect((await idp.gitops.status()).head).toBe(out.commit);
      expect(
        (await idp.resources.list({ namespace: 'analytics' })).items.map(
          r => r.spec.product,
        ),
      ).toEqual(['kafka', 'object-bucket']);
    });

    it('refuses a path outside the workspace and a manifest the control plane rejects', async () => {
      const action = createManifestApplyAction(cp.options);
      const workspace = createMockDirectory({ content: {} });
      await expect(
        action.handler(
          cp.context({ path: '../../etc/passwd' }, users.ana, {
            workspacePath: workspace.path,
          }),
        ),
      ).rejects.toThrow(/outside its parent/);
      await expect(
        action.handler(
          cp.context({
            manifests: manifests.replace('tier: medium', 'tier: urgent'),
          }),
        ),
      ).rejects.toThrow(/Could not apply the manifests: .*tier/);
      await expect(
        action.handler(cp.context({ manifests, path: 'x.yaml' })),
      ).rejects.toThrow(/give either manifests or path, not both/);
    });
  });

  describe('control-plane:cost:estimate', () => {
    it('gives the cheapest provider and every estimate, and fails above the limit the template sets', async () => {
      const action = createCostEstimateAction(cp.options);
      const input = {
        product: 'mysql',
        tier: 'high',
        cell: 'cell-us',
        params: { size: 'large', storageGi: 100 },
      };
      const ctx = cp.context(input);
      await action.handler(ctx);
      const out = outputsOf(ctx);
      expect(out.currency).toBe('USD');
      expect(out.estimates.length).toBeGreaterThan(1);
      const costs = out.estimates.map((e: any) => e.monthlyCost);
      expect(costs).toEqual([...costs].sort((a, b) => a - b));
      expect(out).toMatchObject({
        monthlyCost: out.estimates[0].monthlyCost,
        provider: out.estimates[0].provider,
      });
      expect(out.monthlyCost).toBeGreaterThan(0);

      await expect(
        action.handler(cp.context({ ...input, maxMonthlyCost: 1 })),
      ).rejects.toThrow(/over the limit of 1\.00 USD this template sets/);
    });
  });
});
