import {
  coreServices,
  createServiceFactory,
  LoggerService,
  RootLoggerService,
} from '@backstage/backend-plugin-api';
import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  callAs,
  fastSimulator,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import { git } from '../__testUtils__/git';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

/** Credentials as a developer would paste them: a password and a Stripe live key. */
const PASSWORD = 'hunter2-correct-horse';
const STRIPE_KEY = 'sk_live_51HbQyZLkdIwHu7ixuNfH2xYz';
const leaked = (text: string) =>
  text.includes(PASSWORD) || text.includes(STRIPE_KEY);

const webapp = (name: string, env: Record<string, unknown>) => ({
  name,
  namespace: 'payments',
  product: 'webapp',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { image: 'ghcr.io/acme/checkout', version: '1.4.2', env },
});

const manifest = (name: string) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: ${name}, namespace: payments }
spec:
  product: webapp
  owner: group:default/payments
  tier: medium
  cell: cell-us
  params:
    image: ghcr.io/acme/checkout
    version: 1.4.2
    env:
      DB_PASSWORD: ${PASSWORD}
      API_TOKEN: ${STRIPE_KEY}
`;

/** Everything the backend logs, as text. */
const logged: string[] = [];
const capturing = (): LoggerService => {
  const log =
    (level: string) =>
    (message: string, meta?: unknown): void => {
      logged.push(
        `${level} ${message} ${JSON.stringify(meta, (_k, v) =>
          v instanceof Error ? `${v.message} ${v.stack}` : v,
        )}`,
      );
    };
  return {
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    child: () => capturing(),
  };
};
const capturingLogger = createServiceFactory({
  service: coreServices.rootLogger,
  deps: {},
  factory: () => capturing() as RootLoggerService,
});

/** Every row of every table of the control plane's database, as text. */
async function everyRow(knex: any): Promise<string> {
  const tables: string[] =
    knex.client.config.client === 'pg'
      ? (
          await knex('information_schema.tables')
            .where({ table_schema: knex.raw('current_schema()') })
            .select('table_name')
        ).map((r: any) => r.table_name)
      : (
          await knex('sqlite_master').where({ type: 'table' }).select('name')
        ).map((r: any) => r.name);
  const rows = await Promise.all(tables.map(t => knex(t).select()));
  return JSON.stringify(rows);
}

describe.each(databases.eachSupportedId())(
  'secrets are references, never values, on %s',
  databaseId => {
    it('refuses a credential through the API, manifests and a git push, and keeps it out of Git, the database, the logs and every answer', async () => {
      logged.length = 0;
      const cp = await startControlPlane(databases, databaseId, {
        features: [capturingLogger],
      });
      const work = mkdtempSync(join(tmpdir(), 'idp-secrets-'));
      try {
        const bruno = callAs(cp.server, users.bruno);
        const ana = callAs(cp.server, users.ana);
        const answers: string[] = [];

        // The API: a 400 naming each field, with the hint; the value nowhere in it.
        const created = await bruno.post(
          '/resources',
          webapp('checkout', { DB_PASSWORD: PASSWORD, API_TOKEN: STRIPE_KEY }),
        );
        answers.push(JSON.stringify(created.body));
        expect(created.status).toBe(400);
        expect(created.body.error.message).toContain('params.env.DB_PASSWORD');
        expect(created.body.error.message).toContain('params.env.API_TOKEN');
        expect(created.body.error.message).toContain('secretRef');
        // Hidden under an innocent name, the value's shape gives it away.
        const disguised = await bruno.post(
          '/resources',
          webapp('checkout', { GREETING: STRIPE_KEY }),
        );
        answers.push(JSON.stringify(disguised.body));
        expect(disguised.status).toBe(400);
        expect(disguised.body.error.message).toContain(
          'params.env.GREETING: looks like a Stripe secret key',
        );

        // Manifests: plan and apply refuse it the same way.
        for (const path of ['/manifests/plan', '/manifests/apply']) {
          const res = await bruno.post(path, { yaml: manifest('orders') });
          answers.push(JSON.stringify(res.body));
          expect(res.status).toBe(400);
          expect(res.body.error.message).toContain('env.DB_PASSWORD');
        }

        // A reference is accepted, and is all that is kept.
        const withRef = await bruno
          .post(
            '/resources',
            webapp('checkout', {
              LOG_LEVEL: 'info',
              DB_PASSWORD: {
                secretRef: { name: 'checkout-db', key: 'password' },
              },
            }),
          )
          .expect(201);
        expect(withRef.body.spec.params.env.DB_PASSWORD).toEqual({
          secretRef: { name: 'checkout-db', key: 'password' },
        });

        // Nothing of the credential reached the state repository's history.
        expect(leaked(git(cp.repoPath, 'log', '--all', '-p'))).toBe(false);

        // A git push: refused as a rejection that names the field, never the value.
        git(work, 'clone', '--quiet', cp.repoPath, 'state');
        const dir = join(work, 'state');
        const file = join(dir, 'resources/payments/orders.yaml');
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, manifest('orders'));
        git(dir, 'add', '.');
        git(dir, 'commit', '--quiet', '-m', 'add orders');
        git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
        const sync = await ana.post('/gitops/sync').expect(200);
        answers.push(JSON.stringify(sync.body));
        expect(sync.body.result.status).toBe('rejected');
        expect(JSON.stringify(sync.body.status.rejected)).toContain(
          'env.DB_PASSWORD',
        );
        const orders = await bruno.get('/resources/payments/orders');
        expect(orders.status).toBe(404);
        answers.push(JSON.stringify((await ana.get('/gitops/status')).body));

        // The audit log, and the whole database, hold no trace of it; nor does any answer.
        const audit = await ana.get('/audit?limit=500').expect(200);
        answers.push(JSON.stringify(audit.body));
        expect(audit.body.items.length).toBeGreaterThan(0);
        expect(leaked(await everyRow(cp.knex))).toBe(false);
        expect(answers.filter(leaked)).toEqual([]);
        // The rejected push was logged, naming the field only.
        expect(logged.filter(l => l.includes('env.DB_PASSWORD'))).not.toEqual(
          [],
        );
        expect(logged.filter(leaked)).toEqual([]);
      } finally {
        rmSync(work, { recursive: true, force: true });
        await cp.cleanup();
      }
    });

    it('takes only a reference for a parameter its product marks secret', async () => {
      const cp = await startControlPlane(databases, databaseId);
      try {
        const ana = callAs(cp.server, users.ana);
        const bruno = callAs(cp.server, users.bruno);
        await ana
          .post('/manifests/apply', {
            yaml: `apiVersion: idp.multicloud/v1
kind: Product
metadata: { name: ledger }
spec:
  title: Ledger
  description: A ledger service with an admin account
  category: database
  tiers: [low]
  operations: []
  parameters:
    type: object
    properties:
      adminUser: { type: string }
      adminPassword: { type: string, secret: true }
    additionalProperties: false
`,
          })
          .expect(200);
        const ledger = (adminPassword: unknown) => ({
          name: 'books',
          namespace: 'payments',
          product: 'ledger',
          owner: 'group:default/payments',
          tier: 'low',
          cell: 'cell-us',
          params: { adminUser: 'admin', adminPassword },
        });
        const literal = await bruno.post('/resources', ledger(PASSWORD));
        expect(literal.status).toBe(400);
        expect(literal.body.error.message).toContain(
          'params.adminPassword: is a secret parameter',
        );
        expect(leaked(JSON.stringify(literal.body))).toBe(false);
        const ref = { secretRef: { name: 'ledger-admin', key: 'password' } };
        const created = await bruno.post('/resources', ledger(ref)).expect(201);
        expect(created.body.spec.params.adminPassword).toEqual(ref);
      } finally {
        await cp.cleanup();
      }
    });

    it('hands the simulator the reference, never a value', async () => {
      const cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        features: [simulatorModule],
        controlPlane: { simulator: fastSimulator },
      });
      try {
        const bruno = callAs(cp.server, users.bruno);
        await bruno
          .post(
            '/resources',
            webapp('checkout', {
              DB_PASSWORD: {
                secretRef: { name: 'checkout-db', key: 'password' },
              },
            }),
          )
          .expect(201);
        await until(
          async () =>
            (
              await bruno.get('/resources/payments/checkout/status')
            ).body.state === 'READY',
          'checkout to be READY',
        );
        const [claim] = await cp
          .knex('simulator_claims')
          .where({ name: 'checkout' });
        expect(JSON.parse(claim.params).env).toEqual({
          DB_PASSWORD: { secretRef: { name: 'checkout-db', key: 'password' } },
        });
      } finally {
        await cp.cleanup();
      }
    });
  },
);
