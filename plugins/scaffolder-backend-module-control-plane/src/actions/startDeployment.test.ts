import { startControlPlane, users } from '../__testUtils__/controlPlane';
import { createDeploymentStartAction } from './startDeployment';

jest.setTimeout(90_000);

describe('control-plane:deployment:start, against a running control plane', () => {
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterAll(() => cp.stop());

  const outputsOf = (ctx: { output: jest.Mock }) =>
    Object.fromEntries(ctx.output.mock.calls);

  it('rolls a web app out to a new version as the template user, and waits for the outcome', async () => {
    const idp = cp.clientAs(users.ana);
    await idp.resources.create({
      name: 'checkout-web',
      product: 'webapp',
      owner: 'group:default/payments',
      tier: 'low',
      cell: 'cell-us',
      params: { image: 'ghcr.io/acme/checkout', version: '1.4.0' },
    });
    await idp.resources.waitFor('default/checkout-web', 'READY');

    const action = createDeploymentStartAction(cp.options);
    const ctx = cp.context({
      ref: 'resource:default/checkout-web',
      version: '1.5.0',
      wait: true,
      timeout: 'PT1M',
    });
    await action.handler(ctx);
    expect(outputsOf(ctx)).toMatchObject({
      fromVersion: '1.4.0',
      phase: 'Succeeded',
      deploymentId: expect.any(String),
    });
    // a low-tier web app rolls by default
    const [d] = await idp.deployments.list('default/checkout-web');
    expect(d).toMatchObject({
      strategy: 'rolling',
      toVersion: '1.5.0',
      phase: 'Succeeded',
    });
    expect(
      (await idp.resources.get('default/checkout-web')).status.version,
    ).toBe('1.5.0');
    // the control plane saw the template user
    const audit = await idp.audit.list({ action: 'resource.update' });
    expect(
      audit.items.find(e => e.target === 'resource:default/checkout-web'),
    ).toMatchObject({ actor: users.ana });
  });

  it('refuses a resource without a version, and a user the control plane denies, changing nothing', async () => {
    const idp = cp.clientAs(users.ana);
    await idp.resources.create({
      name: 'assets',
      product: 'object-bucket',
      owner: 'group:default/payments',
      tier: 'low',
      cell: 'cell-us',
    });
    const action = createDeploymentStartAction(cp.options);
    await expect(
      action.handler(
        cp.context({ ref: 'resource:default/assets', version: '2.0.0' }),
      ),
    ).rejects.toThrow(/object-bucket, which has no version to roll out/);
    await expect(
      action.handler(
        cp.context({ ref: 'default/checkout-web', version: 'x y' }),
      ),
    ).rejects.toThrow(/version: must be a version or image tag/);
    await expect(
      action.handler(
        cp.context(
          { ref: 'resource:default/checkout-web', version: '9.9.9' },
          users.eve,
        ),
      ),
    ).rejects.toThrow();
    expect(
      (await idp.resources.get('default/checkout-web')).spec.params.version,
    ).toBe('1.5.0');
  });
});
