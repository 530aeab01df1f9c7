import { builtinProducts } from '@idp-multicloud/plugin-control-plane-common';
import { createIdpClient } from '@idp-multicloud/sdk';
import {
  startTestControlPlane,
  TestControlPlane,
} from '@idp-multicloud/test-utils';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { captureOutput, idpAgainst } from '../__testUtils__/output';

jest.setTimeout(120_000);

/* `idp apply` of a breaking change of a product definition, against a real control plane. */
describe('idp apply with a breaking definition change', () => {
  let cp: TestControlPlane;
  let dir: string;
  const out = captureOutput();
  const ana = 'user:default/ana';

  beforeAll(async () => {
    cp = await startTestControlPlane();
    dir = mkdtempSync(join(tmpdir(), 'idp-apply-'));
    const idpApi = createIdpClient({
      baseUrl: cp.baseUrl,
      token: cp.tokenFor(ana),
    });
    for (const namespace of ['payments', 'orders']) {
      await idpApi.resources.create({
        name: `${namespace}-db`,
        namespace,
        product: 'mysql',
        owner: `group:default/${namespace}`,
        tier: 'medium',
        cell: 'cell-eu',
        params: { size: 'small' },
      } as any);
    }
  });
  afterAll(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const idp = idpAgainst(out, () => cp, ana);

  it('shows the breaking change and its guide in the dry run, refuses it unacknowledged, applies it acknowledged', async () => {
    const spec = structuredClone(builtinProducts.mysql);
    delete (
      spec.parameters as unknown as { properties: Record<string, unknown> }
    ).properties.highAvailability;
    const file = join(dir, 'mysql.yaml');
    writeFileSync(
      file,
      stringify({
        apiVersion: 'idp.multicloud/v1',
        kind: 'Product',
        metadata: { name: 'mysql' },
        spec,
      }),
    );

    expect(await idp('apply', '-f', file, '--dry-run')).toBe(0);
    expect(out.stdout).toContain('Breaking changes:');
    expect(out.stdout).toContain(
      '[parameter.removed] product:mysql: parameter highAvailability is removed',
    );
    expect(out.stdout).toContain(
      'affects 2 resources in orders, payments (owners group:default/orders, group:default/payments)',
    );
    expect(out.stdout).toContain(
      'A product definition breaks: apply needs --acknowledge-breaking.',
    );
    expect(out.stdout).toContain('# Migration guide: product mysql');
    expect(out.stdout).toContain('Dry run: nothing was written.');

    expect(await idp('apply', '-f', file)).toBe(1);
    expect(out.stderr).toContain(
      'product:mysql (parameter.removed highAvailability)',
    );

    expect(await idp('apply', '-f', file, '--acknowledge-breaking')).toBe(0);
    expect(out.stdout).toMatch(/Applied as commit [0-9a-f]{40}\./);
    expect(out.stdout).toContain('Acknowledged. The migration guide:');
  });
});
