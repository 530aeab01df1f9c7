import { randomUUID } from 'node:crypto';
import { TestDatabases } from '@backstage/backend-test-utils';
import { startPolicyBackend } from './__testUtils__/policyBackend';

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
jest.setTimeout(180_000);

type Role = 'admin' | 'platformEngineer' | 'developer' | 'none';
type Team = 'payments' | 'platform';

/** Who holds each role in the test organisation, and the team they belong to. */
const users: Record<Role, { name: string; team?: Team }> = {
  admin: { name: 'root' },
  platformEngineer: { name: 'ana', team: 'platform' },
  developer: { name: 'bruno', team: 'payments' },
  none: { name: 'eve' },
};

/**
 * The decisions the policy documents (its README's table of roles), per permission: what a
 * role may do everywhere, and what it may do to the resources its team owns.
 */
const documented: Record<Role, { everywhere: string[]; ownTeam: string[] }> = {
  admin: { everywhere: ['*'], ownTeam: [] },
  platformEngineer: {
    everywhere: [
      'control-plane.catalog.read',
      'control-plane.fleet.read',
      'control-plane.cluster.manage',
      'control-plane.provider.manage',
      'control-plane.experiment.manage',
      'control-plane.audit.read',
      'control-plane.resource.read',
      'control-plane.resource.operate',
      'control-plane.cost.read',
    ],
    ownTeam: [
      'control-plane.resource.create',
      'control-plane.resource.update',
      'control-plane.resource.delete',
    ],
  },
  developer: {
    everywhere: ['control-plane.catalog.read'],
    ownTeam: [
      'control-plane.resource.create',
      'control-plane.resource.read',
      'control-plane.resource.update',
      'control-plane.resource.delete',
      'control-plane.resource.operate',
      'control-plane.cost.read',
    ],
  },
  none: { everywhere: [], ownTeam: [] },
};

function allowed(role: Role, permission: string, owner?: Team): boolean {
  const { everywhere, ownTeam } = documented[role];
  if (everywhere.includes('*') || everywhere.includes(permission)) return true;
  return owner !== undefined && owner === users[role].team
    ? ownTeam.includes(permission)
    : false;
}

const mysql = (name: string, owner: Team) => ({
  name,
  product: 'mysql',
  owner: `group:default/${owner}`,
  component: `component:default/${owner}-app`,
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
});

const manifest = (name: string, owner: Team) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: ${name}, namespace: default }
spec:
  product: mysql
  owner: group:default/${owner}
  tier: medium
  cell: cell-us
  params: { size: small }
`;

/** One call of an operation of the document, on a resource of `owner` where it has one. */
interface Call {
  path: string;
  body?: object;
  /** The resource team the permission is checked on; none for a basic permission. */
  owner?: Team;
  /** The permission decided, when the document names none (manifests). */
  permission?: string;
  /** The call asks for a resource that does not exist yet (create, manifests). */
  creates?: boolean;
  /** A 404 that is the route's answer when allowed (a resource not placed yet). */
  allowedNotFound?: boolean;
}

/**
 * How to call each operation of the API as `role` against `owner`'s resources. An operation
 * of the document without an entry here fails the test: a new route gets its row.
 */
const calls: Record<
  string,
  (ctx: {
    role: Role;
    owner: Team;
    op: (owner: Team) => string;
    /** The commit that created a resource of the fixtures. */
    change: (name: string) => string;
    /** A deployment of the team's database (a row of the fixtures: nothing runs it). */
    deployment: (owner: Team) => string;
  }) => Call
> = {
  getHealth: () => ({ path: '/health' }),
  getOpenApiDocument: () => ({ path: '/openapi.json' }),
  createResource: ({ role, owner }) => ({
    path: '/resources',
    body: mysql(`new-${role}-${owner}`.toLowerCase(), owner),
    owner,
    creates: true,
  }),
  getResource: ({ owner }) => ({
    path: `/resources/default/${owner}-db`,
    owner,
  }),
  updateResource: ({ owner }) => ({
    path: `/resources/default/${owner}-db`,
    body: { labels: { touched: 'yes' } },
    owner,
  }),
  deleteResource: ({ role, owner }) => ({
    path: `/resources/default/del-${role.toLowerCase()}-${owner}`,
    owner,
  }),
  getResourceStatus: ({ owner }) => ({
    path: `/resources/default/${owner}-db/status`,
    owner,
  }),
  getResourceHistory: ({ owner }) => ({
    path: `/resources/default/${owner}-db/history`,
    owner,
  }),
  getResourcePlacement: ({ owner }) => ({
    path: `/resources/default/${owner}-db/placement`,
    owner,
    // Nothing runs the saga here: the resources are not placed yet.
    allowedNotFound: true,
  }),
  getResourceBlockers: ({ owner }) => ({
    path: `/resources/default/${owner}-db/blockers`,
    owner,
  }),
  listResourceOperations: ({ owner }) => ({
    path: `/resources/default/${owner}-db/operations`,
    owner,
  }),
  createOperation: ({ owner }) => ({
    path: `/resources/default/${owner}-db/operations`,
    body: { type: 'backup' },
    owner,
  }),
  getResourceCost: ({ owner }) => ({
    path: `/resources/default/${owner}-db/cost`,
    owner,
  }),
  streamResourceEvents: ({ owner }) => ({
    path: `/resources/default/${owner}-db/events?limit=5`,
    owner,
  }),
  retryResource: ({ owner }) => ({
    path: `/resources/default/${owner}-db/retry`,
    owner,
  }),
  getOperation: ({ owner, op }) => ({
    path: `/operations/${op(owner)}`,
    owner,
  }),
  cancelOperation: ({ owner, op }) => ({
    path: `/operations/${op(owner)}/cancel`,
    owner,
  }),
  retryOperation: ({ owner, op }) => ({
    path: `/operations/${op(owner)}/retry`,
    owner,
  }),
  planManifests: ({ role, owner }) => ({
    path: '/manifests/plan',
    body: { yaml: manifest(`plan-${role.toLowerCase()}-${owner}`, owner) },
    owner,
    permission: 'control-plane.resource.create',
    creates: true,
  }),
  applyManifests: ({ role, owner }) => ({
    path: '/manifests/apply',
    body: { yaml: manifest(`apply-${role.toLowerCase()}-${owner}`, owner) },
    owner,
    permission: 'control-plane.resource.create',
    creates: true,
  }),
  listProducts: () => ({ path: '/products' }),
  getProduct: () => ({ path: '/products/mysql' }),
  listTiers: () => ({ path: '/tiers' }),
  listCells: () => ({ path: '/cells' }),
  listQuotas: () => ({ path: '/quotas' }),
  listPolicies: () => ({ path: '/policies' }),
  listClusters: () => ({ path: '/clusters' }),
  listProviders: () => ({ path: '/providers' }),
  runReconciler: () => ({ path: '/reconciler/run', body: {} }),
  listQuotaUsage: () => ({ path: '/quotas/usage' }),
  estimateCost: () => ({
    path: '/cost/estimate',
    body: { product: 'mysql', cell: 'cell-us', params: { size: 'small' } },
  }),
  listExperiments: () => ({ path: '/experiments' }),
  createExperiment: ({ role, owner }) => ({
    path: '/experiments',
    body: {
      name: `exp-${role.toLowerCase()}-${owner}`,
      arms: [{ name: 'cheap', percent: 10, weights: { cost: 1 } }],
    },
  }),
  getExperiment: () => ({ path: '/experiments/fixture' }),
  stopExperiment: ({ role, owner }) => ({
    path: `/experiments/stop-${role.toLowerCase()}-${owner}/stop`,
  }),
  listFeatureFlags: () => ({ path: '/flags' }),
  getFeatureFlag: () => ({ path: '/flags/drift.autoCorrect' }),
  setFeatureFlag: () => ({
    path: '/flags/drift.autoCorrect',
    body: { scope: { cell: 'cell-us' }, value: false },
  }),
  unsetFeatureFlag: () => ({ path: '/flags/drift.autoCorrect?cell=cell-us' }),
  listAuditEvents: () => ({ path: '/audit' }),
  verifyAuditChain: () => ({ path: '/audit/verify' }),
  // Only what the caller may read is generated: a component it can read none of is not found.
  generate: ({ owner }) => ({
    path: `/generate/compose?component=component:default/${owner}-app`,
    owner,
  }),
  getCluster: () => ({ path: '/clusters/aws-eu-west-1' }),
  getClusterHealth: () => ({ path: '/clusters/aws-eu-west-1/health' }),
  listClusterOperations: () => ({ path: '/clusters/aws-eu-west-1/operations' }),
  getClusterOperation: () => ({
    path: '/clusters/aws-eu-west-1/operations/cop-none',
    allowedNotFound: true,
  }),
  // Without a cluster driver in this backend, allowed lifecycle requests end in 400/409.
  createCluster: ({ role }) => ({
    path: '/clusters',
    body: {
      name: `lab-${role.toLowerCase()}`,
      cell: 'cell-eu',
      provider: 'aws',
      region: 'eu-west-1',
      zones: ['eu-west-1a'],
      version: '1.34',
      nodePools: [{ name: 'general', machineType: 'standard-8', count: 1 }],
    },
  }),
  updateCluster: () => ({
    path: '/clusters/aws-eu-west-1',
    body: { labels: { touched: 'yes' } },
  }),
  drainCluster: () => ({ path: '/clusters/gcp-europe-west1/drain', body: {} }),
  decommissionCluster: () => ({ path: '/clusters/gcp-europe-west1' }),
  // Allowed, a 409: the cluster is not drained.
  uncordonCluster: () => ({ path: '/clusters/gcp-europe-west1/uncordon' }),
  streamClusterEvents: () => ({
    path: '/clusters/aws-eu-west-1/events?limit=5',
  }),
  runClusterAutomation: () => ({ path: '/clusters/automation/run', body: {} }),
  approveClusterMinor: () => ({
    path: '/clusters/channels/stable/approvals',
    body: { minor: '1.35' },
  }),
  listDeployments: ({ owner }) => ({
    path: `/resources/default/${owner}-db/deployments`,
    owner,
  }),
  getDeployment: ({ owner, deployment }) => ({
    path: `/deployments/${deployment(owner)}`,
    owner,
  }),
  promoteDeployment: ({ owner, deployment }) => ({
    path: `/deployments/${deployment(owner)}/promote`,
    owner,
  }),
  pauseDeployment: ({ owner, deployment }) => ({
    path: `/deployments/${deployment(owner)}/pause`,
    owner,
  }),
  // Allowed, it is a 409 when not paused: the answer of the route, not a denial.
  resumeDeployment: ({ owner, deployment }) => ({
    path: `/deployments/${deployment(owner)}/resume`,
    owner,
  }),
  abortDeployment: ({ owner, deployment }) => ({
    path: `/deployments/${deployment(owner)}/abort`,
    owner,
  }),
  // Allowed, a 409: the fixture's deployment awaits no approval.
  approveDeployment: ({ owner, deployment }) => ({
    path: `/deployments/${deployment(owner)}/approve`,
    owner,
  }),
  // Allowed, a 409: nothing was deployed before, so there is nothing to roll back to.
  rollbackResource: ({ owner }) => ({
    path: `/resources/default/${owner}-db/rollback`,
    body: {},
    owner,
  }),
  getGitopsStatus: () => ({ path: '/gitops/status' }),
  syncGitops: () => ({ path: '/gitops/sync' }),
  listChanges: ({ owner }) => ({
    path: `/changes?resource=default/${owner}-db`,
    owner,
  }),
  // Reverting a resource's creation deletes it: each role reverts the creation of its own.
  revertChange: ({ role, owner, change }) => ({
    path: `/changes/${change(`rev-${role.toLowerCase()}-${owner}`)}/revert`,
    owner,
    permission: 'control-plane.resource.delete',
  }),
  // No change proposer (GitHub) in this backend: an allowed proposal ends in 409.
  proposeRevert: ({ role, owner, change }) => ({
    path: `/changes/${change(
      `rev-${role.toLowerCase()}-${owner}`,
    )}/revert/proposal`,
    owner,
    permission: 'control-plane.resource.delete',
  }),
  proposeChange: ({ role, owner }) => ({
    path: '/changes/proposals',
    body: { yaml: manifest(`prop-${role.toLowerCase()}-${owner}`, owner) },
    owner,
    permission: 'control-plane.resource.create',
    creates: true,
  }),
  getChangeProposal: () => ({
    path: '/changes/proposals/00000000-0000-4000-8000-000000000000',
    allowedNotFound: true,
  }),
  listDefinitionChanges: () => ({ path: '/definition-changes' }),
  getDefinitionChange: () => ({
    path: '/definition-changes/00000000-0000-4000-8000-000000000000',
    allowedNotFound: true,
  }),
  getProductUsage: () => ({ path: '/products/mysql/usage' }),
  // no project definition of mysql here: the global one, as the project sees it
  getProjectProduct: () => ({ path: '/projects/payments/products/mysql' }),
  getProjectCompliance: () => ({ path: '/projects/payments/compliance' }),
};

/** Lists every role may call: the answer holds only what the role may read. */
const filteredLists = new Set([
  'listResources',
  'getChargeback',
  'listVersions',
]);

describe.each(databases.eachSupportedId())(
  'every route of the API, for every role, on %s',
  databaseId => {
    let started: Awaited<ReturnType<typeof startPolicyBackend>>;
    const operations = new Map<Team, string>();
    const deployments = new Map<Team, string>();
    const creations = new Map<string, string>();
    const roles = Object.keys(users) as Role[];
    const teams: Team[] = ['payments', 'platform'];

    beforeAll(async () => {
      started = await startPolicyBackend(databases, databaseId);
      const root = started.as('root');
      for (const team of teams) {
        await root.post('/resources', mysql(`${team}-db`, team)).expect(201);
        for (const role of roles) {
          await root
            .post(
              '/resources',
              mysql(`del-${role.toLowerCase()}-${team}`, team),
            )
            .expect(201);
          const rev = `rev-${role.toLowerCase()}-${team}`;
          await root.post('/resources', mysql(rev, team)).expect(201);
          const changes = await root
            .get(`/changes?resource=default/${rev}`)
            .expect(200);
          creations.set(rev, changes.body.items[0].sha);
          await root
            .post('/experiments', {
              name: `stop-${role.toLowerCase()}-${team}`,
              arms: [{ name: 'cheap', percent: 10, weights: { cost: 1 } }],
            })
            .expect(201);
        }
        const op = await root
          .post(`/resources/default/${team}-db/operations`, { type: 'backup' })
          .expect(202);
        operations.set(team, op.body.id);
        // A deployment paused at a pause step; its saga does not run (no orchestration).
        const { uid } = await started
          .knex('resources')
          .where({ name: `${team}-db` })
          .first('uid');
        const id = randomUUID();
        const at = new Date().toISOString();
        await started.knex('deployments').insert({
          id,
          resource_uid: uid,
          resource_ref: `resource:default/${team}-db`,
          operation_id: op.body.id,
          from_version: '8.0',
          to_version: '8.4',
          generation: 1,
          strategy: 'canary',
          phase: 'Progressing',
          current_step: 0,
          plan: JSON.stringify({
            strategy: 'canary',
            fromVersion: '8.0',
            toVersion: '8.4',
            cells: ['cell-us'],
            steps: [{ kind: 'pause', description: 'pause until promoted' }],
          }),
          steps: JSON.stringify([{ state: 'running', startedAt: at }]),
          weights: JSON.stringify({ canary: 0 }),
          control: JSON.stringify({ promoted: [], approvals: [] }),
          actor: 'control-plane',
          started_at: at,
          updated_at: at,
        });
        deployments.set(team, id);
      }
      await root
        .post('/experiments', {
          name: 'fixture',
          arms: [{ name: 'cheap', percent: 10, weights: { cost: 1 } }],
        })
        .expect(201);
    });
    afterAll(async () => {
      await started?.cleanup();
    });

    it('answers each operation of the document as the roles are documented', async () => {
      const document = (await started.as('root').get('/openapi.json')).body;
      const failures: string[] = [];
      let checked = 0;
      for (const [path, methods] of Object.entries<Record<string, any>>(
        document.paths,
      )) {
        for (const [method, operation] of Object.entries<any>(methods)) {
          const { operationId } = operation;
          const permission: string | undefined = operation['x-permission'];
          if (filteredLists.has(operationId)) continue;
          const call = calls[operationId];
          if (!call) {
            failures.push(`${method.toUpperCase()} ${path}: no row in calls`);
            continue;
          }
          for (const role of roles) {
            for (const owner of teams) {
              const c = call({
                role,
                owner,
                op: t => operations.get(t)!,
                change: name => creations.get(name)!,
                deployment: t => deployments.get(t)!,
              });
              // Routes without a resource are called once per role.
              if (!c.owner && owner !== 'payments') continue;
              const decided = c.permission ?? permission;
              const expectAllowed =
                operation.security?.length === 0 ||
                (decided !== undefined && allowed(role, decided, c.owner));
              const res = await started
                .as(users[role].name)
                [method as 'get'](c.path, c.body);
              checked++;
              // What the caller may not read does not exist for it: 404, as for a missing
              // resource; one it can read but may not act on (or may not create): 403.
              const expectedDenial =
                c.owner &&
                !c.creates &&
                !allowed(role, 'control-plane.resource.read', c.owner)
                  ? 404
                  : 403;
              const wrong = expectAllowed
                ? res.status === 403 ||
                  res.status === 401 ||
                  (res.status === 404 && !c.allowedNotFound) ||
                  res.status >= 500
                : res.status !== expectedDenial;
              if (wrong) {
                failures.push(
                  `${role} ${method.toUpperCase()} ${c.path} (${
                    decided ?? 'public'
                  }${c.owner ? ` on ${c.owner}'s` : ''}): expected ${
                    expectAllowed ? 'allowed' : expectedDenial
                  }, got ${res.status} ${JSON.stringify(
                    res.body?.error?.message ?? '',
                  )}`,
                );
              }
            }
          }
        }
      }
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThan(200);
    });

    it('lists to each role only what it may read', async () => {
      const refsOf = async (role: Role) =>
        (
          await started.as(users[role].name).get('/resources?limit=500')
        ).body.items
          .map((r: any) => r.spec.owner)
          .sort();
      const owners = (role: Role) =>
        teams
          .filter(t => allowed(role, 'control-plane.resource.read', t))
          .map(t => `group:default/${t}`);
      for (const role of roles) {
        expect([...new Set(await refsOf(role))]).toEqual(owners(role));
      }
      const chargeback = await started.as('eve').get('/cost/chargeback');
      expect(chargeback.status).toBe(200);
      expect(chargeback.body.total ?? 0).toBe(0);
    });
  },
);
