import { TestDatabases } from '@backstage/backend-test-utils';
import { parse } from 'yaml';
import { callAs, startControlPlane, users } from '../__testUtils__/backend';
import { composeSchemaErrors } from './compose';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const resource = (
  name: string,
  product: string,
  owner: string,
  extra: Record<string, unknown> = {},
) => ({
  name,
  product,
  owner,
  component: 'component:default/checkout',
  tier: 'medium',
  cell: 'cell-us',
  ...extra,
});

describe.each(databases.eachSupportedId())(
  'GET /generate/{format} on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeAll(async () => {
      cp = await startControlPlane(databases, databaseId);
      const ana = callAs(cp.server, users.ana);
      await ana
        .post(
          '/resources',
          resource('checkout-db', 'mysql', 'group:default/payments', {
            params: { size: 'small' },
          }),
        )
        .expect(201);
      // The cache belongs to another team: bruno (payments) cannot read it.
      await ana
        .post(
          '/resources',
          resource('checkout-cache', 'redis', 'group:default/platform'),
        )
        .expect(201);
      await ana
        .post(
          '/resources',
          resource('checkout', 'webapp', 'group:default/payments', {
            dependsOn: ['checkout-db', 'checkout-cache'],
            params: { image: 'ghcr.io/acme/checkout', version: '1.4.2' },
          }),
        )
        .expect(201);
    });
    afterAll(() => cp.cleanup());

    it("writes a component's Compose file, valid against the Compose schema", async () => {
      const res = await callAs(cp.server, users.ana)
        .get('/generate/compose?component=component:default/checkout')
        .expect(200);
      expect(res.body.resources).toEqual([
        'resource:default/checkout-cache',
        'resource:default/checkout-db',
        'resource:default/checkout',
      ]);
      const file = res.body.files.find(
        (f: any) => f.path === 'docker-compose.yaml',
      );
      const compose = parse(file.content);
      expect(composeSchemaErrors(compose)).toEqual([]);
      expect(compose.services.checkout.depends_on).toEqual({
        'checkout-db': { condition: 'service_healthy' },
        'checkout-cache': { condition: 'service_healthy' },
      });
    });

    it.each([
      ['kubernetes', 'kubernetes/checkout.yaml'],
      ['terraform', 'terraform/aws/main.tf'],
      ['kcl', 'kcl/main.k'],
    ])('writes %s', async (format, path) => {
      const res = await callAs(cp.server, users.ana)
        .get(`/generate/${format}?project=default`)
        .expect(200);
      expect(res.body.files.map((f: any) => f.path)).toContain(path);
    });

    it('leaves out what the caller cannot read, without naming it', async () => {
      const res = await callAs(cp.server, users.bruno)
        .get('/generate/compose?component=checkout')
        .expect(200);
      expect(res.body.resources).toEqual([
        'resource:default/checkout-db',
        'resource:default/checkout',
      ]);
      expect(JSON.stringify(res.body)).not.toContain('checkout-cache');
      expect(res.body.notes).toEqual([
        '1 dependency left out: missing, or a resource you cannot read',
      ]);
      // Nothing readable: as if nothing existed.
      const eve = await callAs(cp.server, users.eve).get(
        '/generate/compose?component=checkout',
      );
      expect(eve.status).toBe(404);
    });

    it.each([
      ['/generate/pdf?component=checkout', 'format'],
      ['/generate/compose', 'component'],
      ['/generate/compose?component=checkout&project=payments', 'project'],
      ['/generate/terraform?component=checkout&provider=ibm', 'provider'],
      ['/generate/compose?component=not%20a%20ref', 'component'],
      // a provider is only for terraform: it was ignored, the file not what was asked for
      ['/generate/compose?component=checkout&provider=aws', 'provider'],
      ['/generate/kubernetes?component=checkout&provider=gcp', 'provider'],
    ])('answers %s with 400 naming %s', async (path, field) => {
      const res = await callAs(cp.server, users.ana).get(path);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
    });
  },
);
