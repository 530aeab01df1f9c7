import {
  credentialShapeOf,
  isCredentialName,
  secretValueIssues,
  withSecretReferences,
} from './secrets';
import { builtinProducts } from './products';
import { validateResourceParameters } from './validation';
import { defaultTiers } from './tiers';

describe('secrets are references, never values', () => {
  it.each([
    ['DB_PASSWORD', true],
    ['MYSQL_PWD', false],
    ['passwd', true],
    ['API_TOKEN', true],
    ['GITHUB_TOKEN', true],
    ['apiKey', true],
    ['API_KEY', true],
    ['STRIPE_SECRET', true],
    ['client_secret', true],
    ['TLS_PRIVATE_KEY', true],
    ['AWS_ACCESS_KEY_ID', true],
    ['GOOGLE_APPLICATION_CREDENTIALS', true],
    ['LOG_LEVEL', false],
    ['PORT', false],
    ['DATABASE_HOST', false],
    ['max_connections', false],
  ])('the name %s says credential: %s', (name, expected) => {
    expect(isCredentialName(name)).toBe(expected);
  });

  it.each([
    ['sk_live_51HbQyZLkdIwHu7ixuNfH2', 'a Stripe secret key'],
    ['rk_test_4eC39HqLyjWDarjtT1zdp7dc', 'a Stripe secret key'],
    ['ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'a GitHub token'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijkl', 'a GitHub token'],
    ['AKIAIOSFODNN7EXAMPLE', 'an AWS access key'],
    ['xoxb-123456789012-abcdefghij', 'a Slack token'],
    ['xoxp-1234-5678-abcdefghijkl', 'a Slack token'],
    [
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      'a JSON Web Token',
    ],
    [
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----',
      'a PEM block (a key or certificate)',
    ],
    [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'a PEM block (a key or certificate)',
    ],
    ['https://api.example.com', undefined],
    ['info', undefined],
    ['sk_live_', undefined],
    ['ghcr.io/acme/checkout', undefined],
    ['eyJ-not-a-token', undefined],
  ])('the value %s looks like %s', (value, expected) => {
    expect(credentialShapeOf(value)).toBe(expected);
  });

  const webapp = builtinProducts.webapp;
  const issuesOf = (
    params: Record<string, unknown>,
    schema = webapp.parameters,
  ) => secretValueIssues(schema, params);

  it.each([
    [{ env: { DB_PASSWORD: 'hunter2' } }, ['spec.params.env.DB_PASSWORD']],
    [
      { env: { GREETING: 'sk_live_51HbQyZLkdIwHu7ixuNfH2' } },
      ['spec.params.env.GREETING'],
    ],
    [
      {
        env: {
          API_TOKEN: 'abc',
          LOG_LEVEL: 'info',
          KEY: 'AKIAIOSFODNN7EXAMPLE',
        },
      },
      ['spec.params.env.API_TOKEN', 'spec.params.env.KEY'],
    ],
    [
      { env: { DB_PASSWORD: { secretRef: { name: 'db', key: 'password' } } } },
      [],
    ],
    [{ env: { DB_PASSWORD: '' } }, []],
    [{ env: { LOG_LEVEL: 'info' }, image: 'ghcr.io/acme/checkout' }, []],
    [
      { parameters: { init_token: 'x' } },
      ['spec.params.parameters.init_token'],
    ],
    [
      { hosts: ['ok', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'] },
      ['spec.params.hosts.1'],
    ],
  ])(
    'finds secret values in %j at %j, never naming the value',
    (params, paths) => {
      const issues = issuesOf(params);
      expect(issues.map(i => i.path)).toEqual(paths);
      for (const i of issues) {
        expect(i.message).toContain('secretRef');
        expect(JSON.stringify(i)).not.toMatch(
          /hunter2|sk_live_5|AKIAIOS|ghp_16/,
        );
      }
    },
  );

  const declared = {
    type: 'object' as const,
    properties: {
      adminUser: { type: 'string' },
      adminPassword: { type: 'string', secret: true },
    },
    additionalProperties: false,
  };

  it.each([
    [
      { adminUser: 'root', adminPassword: 'correct horse' },
      ['spec.params.adminPassword'],
    ],
    [{ adminPassword: 42 }, ['spec.params.adminPassword']],
    [
      {
        adminUser: 'root',
        adminPassword: { secretRef: { name: 'db', key: 'pw' } },
      },
      [],
    ],
    [{ adminUser: 'root' }, []],
  ])(
    'a parameter marked secret takes a reference only: %j',
    (params, paths) => {
      expect(issuesOf(params, declared).map(i => i.path)).toEqual(paths);
    },
  );

  it('validates a secret parameter as a reference', () => {
    const product = {
      ...webapp,
      parameters: declared,
      features: {},
      waivedFeatures: { backups: 'n/a', multiAZ: 'n/a', encryption: 'n/a' },
      tiers: ['low' as const],
    };
    const validate = (params: Record<string, unknown>) =>
      validateResourceParameters({
        productId: 'legacy',
        product,
        tierId: 'low',
        tier: defaultTiers.low,
        params,
      });
    expect(
      validate({ adminPassword: { secretRef: { name: 'db', key: 'pw' } } }),
    ).toEqual({
      ok: true,
      params: { adminPassword: { secretRef: { name: 'db', key: 'pw' } } },
    });
    const refused = validate({ adminPassword: 'correct horse' });
    expect(refused).toEqual({
      ok: false,
      issues: [
        {
          path: 'spec.params.adminPassword',
          message: expect.stringContaining('is a secret parameter'),
        },
      ],
    });
    expect(
      validate({
        adminPassword: { secretRef: { name: 'Bad Name', key: 'pw' } },
      }).ok,
    ).toBe(false);
    expect(withSecretReferences(webapp.parameters)).toBe(webapp.parameters);
  });

  it('lets a webapp take env values and references, and refuses credentials', () => {
    const validate = (env: Record<string, unknown>) =>
      validateResourceParameters({
        productId: 'webapp',
        product: webapp,
        tierId: 'medium',
        tier: defaultTiers.medium,
        params: { image: 'ghcr.io/acme/checkout', version: '1.0.0', env },
      });
    expect(
      validate({
        LOG_LEVEL: 'info',
        DB_PASSWORD: { secretRef: { name: 'checkout-db', key: 'password' } },
      }).ok,
    ).toBe(true);
    const refused = validate({
      DB_PASSWORD: 'hunter2',
      API_TOKEN: 'sk_live_51HbQyZLkdIwHu7ixuNfH2',
    });
    expect(refused).toEqual({
      ok: false,
      issues: [
        {
          path: 'spec.params.env.DB_PASSWORD',
          message: expect.stringContaining('{ secretRef: { name, key } }'),
        },
        {
          path: 'spec.params.env.API_TOKEN',
          message: expect.stringContaining('a Stripe secret key'),
        },
      ],
    });
  });
});
