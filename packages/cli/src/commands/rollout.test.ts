import { createIdpClient, IdpClient } from '@idp-multicloud/sdk';
import {
  startTestControlPlane,
  TestControlPlane,
} from '@idp-multicloud/test-utils';
import { captureOutput, idpAgainst } from '../__testUtils__/output';

jest.setTimeout(120_000);

/* `idp rollout` against a real control plane: the backend plugin, simulated workloads. */
describe('idp rollout', () => {
  let cp: TestControlPlane;
  let idpApi: IdpClient;
  const out = captureOutput();
  const ana = 'user:default/ana';

  beforeAll(async () => {
    cp = await startTestControlPlane();
    idpApi = createIdpClient({ baseUrl: cp.baseUrl, token: cp.tokenFor(ana) });
  });
  afterAll(() => cp?.stop());

  const idp = idpAgainst(out, () => cp, ana);

  const until = async <T>(
    check: () => Promise<T | undefined>,
    what: string,
  ) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise(r => setTimeout(r, 100));
    }
  };

  it('shows a paused canary, promotes it to the end, lists the history, undoes it and aborts the undo', async () => {
    await idpApi.resources.create({
      name: 'shop',
      product: 'webapp',
      owner: 'group:default/payments',
      tier: 'high',
      cell: 'cell-us',
      params: { image: 'ghcr.io/acme/shop', version: '1.0.0' },
      rollout: {
        strategy: 'canary',
        steps: [{ setWeight: 20 }, { pause: {} }, { promote: {} }],
      },
    });
    await idpApi.resources.waitFor('default/shop', 'READY');
    // a resource without a version has nothing to roll out: a usage error
    await idpApi.resources.create({
      name: 'assets',
      product: 'object-bucket',
      owner: 'group:default/payments',
      tier: 'low',
      cell: 'cell-us',
    });
    expect(await idp('rollout', 'start', 'assets', '2.0.0')).toBe(2);
    expect(out.stderr).toMatch(
      /object-bucket, which has no version to roll out/,
    );

    expect(await idp('rollout', 'start', 'shop', '1.1.0')).toBe(0);
    expect(out.stdout).toMatch(/1\.1\.0 asked for/);
    await until(
      async () =>
        (await idpApi.deployments.list('default/shop'))[0]?.phase === 'Paused',
      'paused',
    );

    expect(await idp('rollout', 'status', 'shop')).toBe(0);
    expect(out.stdout).toMatch(/versions\s+1\.0\.0 → 1\.1\.0/);
    expect(out.stdout).toMatch(/phase\s+Paused/);
    expect(out.stdout).toMatch(/\[█{4}░{16}\] 20% → 1\.1\.0/);
    expect(out.stdout).toMatch(/→2\s+pause until promoted\s+running/);

    out.stdout = '';
    expect(await idp('rollout', 'promote', 'shop', '--wait')).toBe(0);
    expect(out.stderr).toMatch(/Succeeded: 1\.1\.0 is the stable version/);
    expect(out.stderr).toMatch(/1\.1\.0 becomes the stable version: succeeded/);
    expect(out.stdout).toMatch(/phase\s+Succeeded/);
    expect((await idpApi.resources.get('default/shop')).status.version).toBe(
      '1.1.0',
    );

    out.stdout = '';
    expect(await idp('rollout', 'history', 'shop')).toBe(0);
    expect(out.stdout).toMatch(/1\.0\.0\s+1\.1\.0\s+canary\s+Succeeded/);

    // undo: back to 1.0.0, through the same canary; it pauses, and an abort ends it (exit 1)
    out.stdout = '';
    expect(await idp('rollout', 'undo', 'shop')).toBe(0);
    expect(out.stdout).toMatch(/1\.0\.0 asked for/);
    await until(async () => {
      const [d] = await idpApi.deployments.list('default/shop');
      return d?.toVersion === '1.0.0' && d.phase === 'Paused';
    }, 'undo paused');
    out.stderr = '';
    expect(
      await idp('rollout', 'abort', 'shop', '--reason', 'keep 1.1.0', '--wait'),
    ).toBe(1);
    expect(out.stderr).toMatch(/Aborted: aborted by user:default\/ana/);
    expect((await idpApi.resources.get('default/shop')).status.version).toBe(
      '1.1.0',
    );

    // nothing in progress now: an action is a usage error naming the last deployment
    out.stderr = '';
    expect(await idp('rollout', 'promote', 'shop')).toBe(2);
    expect(out.stderr).toMatch(
      /no deployment in progress \(its last, 1\.1\.0 → 1\.0\.0, Aborted\)/,
    );
  });
});
