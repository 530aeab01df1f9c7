import {
  startTestControlPlane,
  TestControlPlane,
} from '@idp-multicloud/test-utils';
import { main } from '../main';
import { parsePool } from './clusters';

jest.setTimeout(180_000);

describe('parsePool', () => {
  it.each([
    [
      'general=standard-8:3',
      { name: 'general', machineType: 'standard-8', count: 3 },
    ],
    [
      'gpu=a100:1:0-4',
      { name: 'gpu', machineType: 'a100', count: 1, min: 0, max: 4 },
    ],
  ])('%s', (raw, pool) => {
    expect(parsePool(raw)).toEqual(pool);
  });
  it.each(['general', 'general=m', 'general=m:x', 'Big=m:1'])(
    '%s is a usage error',
    raw => {
      expect(() => parsePool(raw)).toThrow('must be name=machineType:count');
    },
  );
});

/* `idp clusters` against a real control plane with the simulator's cluster driver. */
describe('idp clusters', () => {
  let cp: TestControlPlane;
  let stdout: string;
  let stderr: string;
  const ana = 'user:default/ana';

  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(() => cp?.stop());
  beforeEach(() => {
    stdout = '';
    stderr = '';
    jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      stdout += String(chunk);
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation(chunk => {
      stderr += String(chunk);
      return true;
    });
    process.exitCode = undefined;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
  });

  const idp = async (...args: string[]) => {
    stdout = '';
    stderr = '';
    process.exitCode = undefined;
    await main([
      'node',
      'idp',
      '--server',
      cp.baseUrl,
      '--token',
      cp.tokenFor(ana),
      ...args,
    ]);
    return process.exitCode ?? 0;
  };

  it('creates, scales, upgrades, drains and decommissions a cluster, waiting for each', async () => {
    expect(
      await idp(
        'clusters',
        'create',
        'eu-cli',
        '--cell',
        'cell-eu',
        '--provider',
        'gcp',
        '--region',
        'europe-west1',
        '--zone',
        'europe-west1-b',
        '--kubernetes-version',
        '1.30',
        '--pool',
        'general=standard-8:2:1-5',
        '--channel',
        'stable',
        '--wait',
      ),
    ).toBe(0);
    expect(stderr).toContain('✓ wait_ready');
    expect(stdout).toContain('create of eu-cli succeeded');

    expect(
      await idp('clusters', 'scale', 'eu-cli', 'general', '3', '--wait'),
    ).toBe(0);
    expect(stdout).toContain('scale of eu-cli succeeded');
    // beyond the pool's max: refused, naming the field
    expect(await idp('clusters', 'scale', 'eu-cli', 'general', '9')).toBe(1);
    expect(stderr).toContain("nodePools[0].count: 9 is above the pool's max 5");

    // no maintenance window to wait for: refused, naming the field
    expect(
      await idp('clusters', 'upgrade', 'eu-cli', '1.31', '--in-window'),
    ).toBe(1);
    expect(stderr).toContain(
      'when: cluster eu-cli has no maintenance window to wait for',
    );
    expect(await idp('clusters', 'upgrade', 'eu-cli', '1.32')).toBe(1);
    expect(stderr).toContain('one minor at a time: 1.30 → 1.32 skips 1.31');
    const upgraded = await idp(
      'clusters',
      'upgrade',
      'eu-cli',
      '1.31',
      '--wait',
    );
    expect(upgraded).toBe(0);
    expect(stderr).toContain('✓ upgrade_control_plane');
    expect(stderr).toContain('✓ upgrade_pool:general');

    expect(await idp('clusters', 'list')).toBe(0);
    const row = stdout.split('\n').find(l => l.startsWith('eu-cli'))!;
    expect(row).toMatch(
      /eu-cli\s+cell-eu\s+gcp\s+1\.31\s+Ready\s+\d+\s+stable/,
    );

    expect(await idp('clusters', 'health', 'eu-cli')).toBe(0);
    expect(stdout).toMatch(/^eu-cli: \d+\/100/);
    expect(stdout).toContain('version');

    expect(await idp('clusters', 'get', 'eu-cli', '-o', 'json')).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      id: 'eu-cli',
      observed: { controlPlaneVersion: '1.31', nodesTotal: 3 },
    });

    expect(await idp('clusters', 'approve', 'stable', '1.32')).toBe(0);
    expect(stdout).toContain('Clusters of stable may move to 1.32.');
    expect(await idp('clusters', 'approve', 'beta', '1.32')).toBe(2);
    // the channel offers a newer version: automation upgrades the cluster one minor
    expect(await idp('clusters', 'automation')).toBe(0);
    expect(stdout).toContain('stable → 1.34.2: wave 1 of 1, started eu-cli');
    const upgradedByChannel = async () => {
      for (;;) {
        await idp('clusters', 'get', 'eu-cli', '-o', 'json');
        const c = JSON.parse(stdout);
        const busy = c.operations.some((o: any) =>
          ['running', 'pending'].includes(o.state),
        );
        if (!busy) return c.observed.controlPlaneVersion;
        await new Promise(r => setTimeout(r, 250));
      }
    };
    expect(await upgradedByChannel()).toBe('1.32.8');

    expect(await idp('clusters', 'drain', 'eu-cli', '--wait')).toBe(0);
    expect(stdout).toContain('drain of eu-cli succeeded');
    // drained, it can be returned to service, and drained again
    expect(await idp('clusters', 'uncordon', 'eu-cli')).toBe(0);
    expect(stdout).toContain('eu-cli is back in service.');
    expect(await idp('clusters', 'uncordon', 'eu-cli')).toBe(1);
    expect(stderr).toContain('not Draining');
    expect(await idp('clusters', 'drain', 'eu-cli', '--wait')).toBe(0);
    expect(await idp('clusters', 'decommission', 'eu-cli', '--wait')).toBe(0);
    expect(stdout).toContain('decommission of eu-cli succeeded');
    expect(await idp('clusters', 'get', 'eu-cli')).toBe(1);
  });
});
