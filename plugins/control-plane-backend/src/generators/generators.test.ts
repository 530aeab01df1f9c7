/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expectGolden"] }] */
import { parse as parseHcl } from '@cdktf/hcl2json';
import {
  GeneratedFile,
  terraformProviders,
} from '@idp-multicloud/plugin-control-plane-common';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  checkoutResources,
  resource,
  sourceOf,
} from './__testUtils__/fixtures';
import { expectGolden } from './__testUtils__/golden';
import { composeSchemaErrors } from './compose';
import { generators, selectUnits } from '.';
import { requiredArguments } from './terraform/requiredArguments';

const checkout = selectUnits(sourceOf(checkoutResources), {
  component: 'component:default/checkout',
});
const fileOf = (files: GeneratedFile[], path: string) => {
  const file = files.find(f => f.path === path);
  if (!file) throw new Error(`no ${path} among ${files.map(f => f.path)}`);
  return file.content;
};

describe('selectUnits', () => {
  it.each([
    [
      'a component, bare name',
      { component: 'checkout' },
      [
        'resource:default/checkout-cache',
        'resource:default/checkout-db',
        'resource:default/checkout-events',
        'resource:default/checkout',
      ],
    ],
    [
      'a component, full ref',
      { component: 'component:default/checkout' },
      [
        'resource:default/checkout-cache',
        'resource:default/checkout-db',
        'resource:default/checkout-events',
        'resource:default/checkout',
      ],
    ],
    [
      'a project by System ref: the System and the namespace',
      { project: 'system:default/payments' },
      ['resource:default/ledger', 'resource:payments/orders'],
    ],
    [
      'a project by name: the System and the namespace',
      { project: 'payments' },
      ['resource:default/ledger', 'resource:payments/orders'],
    ],
  ])('selects %s, dependencies first', (_, scope, refs) => {
    const selection = selectUnits(
      sourceOf([
        ...checkoutResources,
        resource('orders', { product: 'redis' }, 'payments'),
      ]),
      scope,
    );
    expect(selection.units.map(u => u.ref)).toEqual(refs);
  });

  it('fills in the product defaults and keeps secrets as references', () => {
    const web = checkout.units.find(u => u.name === 'checkout')!;
    expect(web.params).toMatchObject({
      replicas: 2,
      port: 8080,
      env: {
        STRIPE_API_KEY: { secretRef: { name: 'stripe', key: 'api-key' } },
      },
    });
    expect(web.dependsOn).toEqual([
      'checkout-db',
      'checkout-cache',
      'checkout-events',
    ]);
  });

  it('includes a dependency outside the component, and leaves out one the caller cannot read without naming it', () => {
    const resources = [
      resource('web', {
        product: 'webapp',
        component: 'component:default/web',
        dependsOn: ['shared-db', 'secret-db'],
        params: { image: 'ghcr.io/acme/web', version: '1' },
      }),
      resource('shared-db', { product: 'postgres' }),
      resource('secret-db', {
        product: 'mysql',
        owner: 'group:default/other',
      }),
    ];
    const selection = selectUnits(
      sourceOf(resources, r => r.spec.owner === 'group:default/payments'),
      { component: 'web' },
    );
    expect(selection.units.map(u => u.name)).toEqual(['shared-db', 'web']);
    expect(selection.units[1].dependsOn).toEqual(['shared-db']);
    expect(selection.notes.join(' ')).toMatch(/1 dependency left out/);
    expect(selection.notes.join(' ')).not.toContain('secret-db');
  });

  it('gives every unit its own key, even where a qualified name is another resource’s name', () => {
    // team/db and other/db are qualified as team-db and other-db: x/team-db is named team-db
    const selection = selectUnits(
      sourceOf([
        resource(
          'db',
          { product: 'redis', component: 'component:default/checkout' },
          'team',
        ),
        resource(
          'db',
          { product: 'redis', component: 'component:default/checkout' },
          'other',
        ),
        resource(
          'team-db',
          { product: 'redis', component: 'component:default/checkout' },
          'x',
        ),
      ]),
      { component: 'checkout' },
    );
    expect(
      Object.fromEntries(selection.units.map(u => [u.ref, u.key])),
    ).toEqual({
      'resource:other/db': 'other-db',
      'resource:team/db': 'team-db-2',
      'resource:x/team-db': 'team-db',
    });
    const compose = parseYaml(
      fileOf(generators.compose(selection).files, 'docker-compose.yaml'),
    );
    expect(Object.keys(compose.services).sort()).toEqual([
      'other-db',
      'team-db',
      'team-db-2',
    ]);
    const paths = generators.kubernetes(selection).files.map(f => f.path);
    expect(new Set(paths).size).toBe(paths.length);
  });
});

describe('Docker Compose', () => {
  const output = generators.compose(checkout);
  const compose = parseYaml(fileOf(output.files, 'docker-compose.yaml'));

  it('matches the golden files', () => {
    expectGolden('checkout/compose', output.files);
  });

  it('is valid against the Compose specification schema', () => {
    expect(composeSchemaErrors(compose)).toEqual([]);
  });

  it('the schema check does catch an invalid file', () => {
    expect(
      composeSchemaErrors({
        services: {
          web: { image: 'x', depends_on: { db: { condition: 'ready' } } },
        },
      }),
    ).not.toEqual([]);
  });

  it('runs the real images, waits for healthy dependencies, keeps data in volumes', () => {
    expect(compose.services['checkout-db'].image).toBe('mysql:8.4');
    expect(compose.services['checkout-cache'].image).toBe('redis:7.4');
    expect(compose.services['checkout-events'].image).toBe(
      'apache/kafka:3.8.1',
    );
    expect(compose.services.checkout.image).toBe('ghcr.io/acme/checkout:1.4.2');
    expect(compose.services.checkout.depends_on).toEqual({
      'checkout-db': { condition: 'service_healthy' },
      'checkout-cache': { condition: 'service_healthy' },
      'checkout-events': { condition: 'service_healthy' },
    });
    for (const service of Object.values<any>(compose.services)) {
      expect(service.healthcheck.test[0]).toBe('CMD-SHELL');
    }
    expect(compose.services['checkout-db'].volumes).toEqual([
      'checkout-db-data:/var/lib/mysql',
    ]);
    expect(Object.keys(compose.volumes)).toContain('checkout-db-data');
  });

  it('wires connection settings, every secret a variable the developer sets', () => {
    const env = compose.services.checkout.environment;
    expect(env).toMatchObject({
      CHECKOUT_DB_HOST: 'checkout-db',
      CHECKOUT_DB_PORT: '3306',
      CHECKOUT_DB_PASSWORD:
        '${CHECKOUT_DB_PASSWORD:?set CHECKOUT_DB_PASSWORD in .env}',
      CHECKOUT_CACHE_HOST: 'checkout-cache',
      CHECKOUT_EVENTS_BOOTSTRAP_SERVERS: 'checkout-events:9092',
      STRIPE_API_KEY: '${STRIPE_API_KEY:?set STRIPE_API_KEY in .env}',
      LOG_LEVEL: 'info',
    });
    expect(compose.services['checkout-db'].environment.MYSQL_PASSWORD).toBe(
      env.CHECKOUT_DB_PASSWORD,
    );
    expect(fileOf(output.files, '.env.example').split('\n')).toEqual(
      expect.arrayContaining([
        'CHECKOUT_DB_PASSWORD=',
        'CHECKOUT_DB_ROOT_PASSWORD=',
        'CHECKOUT_CACHE_PASSWORD=',
        'STRIPE_API_KEY=',
      ]),
    );
  });

  it('publishes two engines on the same port on different host ports', () => {
    const two = generators.compose(
      selectUnits(
        sourceOf([
          resource('a', {
            product: 'postgres',
            component: 'component:default/x',
          }),
          resource('b', {
            product: 'postgres',
            component: 'component:default/x',
          }),
        ]),
        { component: 'x' },
      ),
    );
    const doc = parseYaml(fileOf(two.files, 'docker-compose.yaml'));
    expect([doc.services.a.ports, doc.services.b.ports]).toEqual([
      ['5432:5432'],
      ['5433:5432'],
    ]);
  });

  it('leaves out a product with no local image, and says so', () => {
    const out = generators.compose(
      selectUnits(
        sourceOf([
          resource('files', {
            product: 'object-bucket',
            component: 'component:default/x',
          }),
        ]),
        { component: 'x' },
      ),
    );
    expect(out.notes).toEqual([
      'resource:default/files: product object-bucket has no local image; left out of the Compose file',
    ]);
  });
});

describe('Kubernetes', () => {
  const output = generators.kubernetes(checkout);
  const objects = output.files
    .filter(f => f.path !== 'kubernetes/kustomization.yaml')
    .flatMap(f => parseAllDocuments(f.content).map(d => d.toJSON()));

  it('matches the golden files', () => {
    expectGolden('checkout/kubernetes', output.files);
  });

  it('writes a claim per data service and the workloads of the webapp', () => {
    expect(objects.map(o => `${o.kind}/${o.metadata.name}`)).toEqual([
      'RedisCache/checkout-cache',
      'MySQLInstance/checkout-db',
      'KafkaCluster/checkout-events',
      'Deployment/checkout',
      'Service/checkout',
    ]);
    const claim = objects.find(o => o.kind === 'MySQLInstance');
    expect(claim.spec.writeConnectionSecretToRef).toEqual({
      name: 'checkout-db-connection',
    });
  });

  it('the Deployment passes the Kubernetes schema and reads secrets by reference', () => {
    const deployment = objects.find(o => o.kind === 'Deployment');
    expect(() => new Deployment(deployment).validate()).not.toThrow();
    const env = deployment.spec.template.spec.containers[0].env;
    expect(env).toEqual(
      expect.arrayContaining([
        {
          name: 'STRIPE_API_KEY',
          valueFrom: { secretKeyRef: { name: 'stripe', key: 'api-key' } },
        },
        {
          name: 'CHECKOUT_DB_PASSWORD',
          valueFrom: {
            secretKeyRef: {
              name: 'checkout-db-connection',
              key: 'password',
              optional: true,
            },
          },
        },
      ]),
    );
  });

  it('the schema check does catch an invalid Deployment', () => {
    const deployment = objects.find(o => o.kind === 'Deployment');
    deployment.spec.replicas = 'two';
    expect(() => new Deployment(deployment).validate()).toThrow(/replicas/);
  });
});

describe('Terraform', () => {
  // What a provider does not offer is written as the closest it does, and said.
  const substituted: Record<string, string[]> = {
    aws: [],
    gcp: [
      'resource:default/checkout-cache on gcp: redis 7.4 is not offered; written as REDIS_7_2, the closest',
    ],
    azure: [
      'resource:default/checkout-db on azure: mysql 8.4 is not offered; written as 8.0.21, the closest',
    ],
    oci: [
      'resource:default/checkout-cache on oci: redis 7.4 is not offered; written as V7_0_5, the closest',
    ],
  };

  it.each(terraformProviders)(
    'on %s: parses, and every resource carries its required arguments',
    async provider => {
      const output = generators.terraform({ ...checkout, provider });
      expectGolden(`checkout/terraform-${provider}`, output.files);
      expect(output.notes).toEqual(substituted[provider]);
      const parsed: any = {};
      for (const file of output.files) {
        Object.assign(parsed, {
          [file.path]: await parseHcl(file.path, file.content),
        });
      }
      const main = parsed[`terraform/${provider}/main.tf`];
      const types = Object.keys(main.resource);
      expect(types.length).toBeGreaterThanOrEqual(4);
      for (const type of types) {
        expect(requiredArguments).toHaveProperty([type]);
        for (const [label, [body]] of Object.entries<any>(
          main.resource[type],
        )) {
          for (const path of requiredArguments[type]) {
            const present = path
              .split('.')
              .reduce<any>(
                (v, key) => (Array.isArray(v) ? v[0] : v)?.[key],
                body,
              );
            expect([`${type}.${label}`, path, present !== undefined]).toEqual([
              `${type}.${label}`,
              path,
              true,
            ]);
          }
        }
      }
      // Every variable used is declared; every password is a sensitive variable.
      const declared = parsed[`terraform/${provider}/variables.tf`].variable;
      const text = output.files.map(f => f.content).join('\n');
      for (const [, name] of text.matchAll(/var\.([a-z_0-9]+)/g)) {
        expect(declared).toHaveProperty([name]);
      }
      expect(declared.checkout_db_password[0].sensitive).toBe(true);
      expect(declared.stripe_api_key[0].sensitive).toBe(true);
    },
  );

  it.each([
    ['aws', 'aws_db_instance'],
    ['gcp', 'google_sql_database_instance'],
    ['azure', 'azurerm_mysql_flexible_server'],
    ['oci', 'oci_mysql_mysql_db_system'],
  ] as const)('writes MySQL on %s as %s', (provider, type) => {
    const output = generators.terraform({ ...checkout, provider });
    expect(fileOf(output.files, `terraform/${provider}/main.tf`)).toContain(
      `resource "${type}" "checkout_db" {`,
    );
  });

  it('puts each resource on its pinned provider when none is asked for', () => {
    const output = generators.terraform(
      selectUnits(
        sourceOf([
          resource('a', {
            product: 'postgres',
            component: 'component:default/x',
            placement: { provider: 'gcp' },
          }),
          resource('b', { product: 'redis', component: 'component:default/x' }),
          resource('c', {
            product: 'redis',
            component: 'component:default/x',
            placement: { provider: 'onprem' },
          }),
        ]),
        { component: 'x' },
      ),
    );
    expect(output.files.map(f => f.path)).toEqual([
      'terraform/aws/versions.tf',
      'terraform/aws/variables.tf',
      'terraform/aws/main.tf',
      'terraform/gcp/versions.tf',
      'terraform/gcp/variables.tf',
      'terraform/gcp/main.tf',
    ]);
    expect(output.notes).toEqual([
      'resource:default/c: pinned to onprem, which has no Terraform provider here; left out',
    ]);
  });

  it('names a resource whose name starts with a digit with a valid identifier', async () => {
    const units = selectUnits(
      sourceOf([
        resource('1st-db', {
          product: 'postgres',
          component: 'component:default/x',
        }),
      ]),
      { component: 'x' },
    ).units;
    const output = generators.terraform({ provider: 'aws', units });
    const main: any = await parseHcl(
      'main.tf',
      fileOf(output.files, 'terraform/aws/main.tf'),
    );
    expect(Object.keys(main.resource.aws_db_instance)).toEqual(['r_1st_db']);
    expect(fileOf(generators.kcl({ units }).files, 'kcl/main.k')).toContain(
      'r_1st_db = Postgres {',
    );
    const compose = parseYaml(
      fileOf(generators.compose({ units }).files, 'docker-compose.yaml'),
    );
    expect(compose.services['1st-db'].environment.POSTGRES_PASSWORD).toBe(
      '${R_1ST_DB_PASSWORD:?set R_1ST_DB_PASSWORD in .env}',
    );
  });

  it('writes a parameter as a string, never as an interpolation', async () => {
    const output = generators.terraform({
      provider: 'aws',
      units: selectUnits(
        sourceOf([
          resource('web', {
            product: 'webapp',
            component: 'component:default/x',
            params: {
              image: 'ghcr.io/acme/web',
              version: '1',
              env: { GREETING: '${file("/etc/passwd")} "quoted"' },
            },
          }),
        ]),
        { component: 'x' },
      ).units,
    });
    const main: any = await parseHcl(
      'main.tf',
      fileOf(output.files, 'terraform/aws/main.tf'),
    );
    expect(main.locals[0].web_environment.GREETING).toBe(
      '$${file("/etc/passwd")} "quoted"',
    );
  });
});

describe('KCL', () => {
  const output = generators.kcl(checkout);
  const main = fileOf(output.files, 'kcl/main.k');

  it('matches the golden files', () => {
    expectGolden('checkout/kcl', output.files);
  });

  it('declares a schema per product and an instance per resource, every parameter declared', () => {
    const declared = new Map<string, Set<string>>();
    for (const match of main.matchAll(
      /^schema (\w+)Params:\n((?: {4}.*\n?)*)/gm,
    )) {
      declared.set(
        match[1],
        new Set([...match[2].matchAll(/^ {4}(\w+)\??:/gm)].map(m => m[1])),
      );
    }
    expect([...declared.keys()].sort()).toEqual([
      'Kafka',
      'Mysql',
      'Redis',
      'Webapp',
    ]);
    const instances = [
      ...main.matchAll(
        /^(\w+) = (\w+) \{\n[\s\S]*?params = \w+Params \{\n([\s\S]*?)\n {4}\}/gm,
      ),
    ];
    expect(instances.map(m => m[1])).toEqual([
      'checkout_cache',
      'checkout_db',
      'checkout_events',
      'checkout',
    ]);
    for (const [, , schema, body] of instances) {
      for (const [, key] of body.matchAll(/^ {8}(\w+) = /gm)) {
        expect([schema, key, declared.get(schema)!.has(key)]).toEqual([
          schema,
          key,
          true,
        ]);
      }
    }
    expect(main).toContain('"secretRef": {');
  });
});
