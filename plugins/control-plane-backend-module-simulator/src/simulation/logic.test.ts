import { SimulatorFault } from '../config';
import {
  Claim,
  claimAfterApply,
  compareVersions,
  judgeCall,
  observationOf,
  phaseAt,
  stepOf,
  versionOf,
} from './logic';

const claim = (changes: Partial<Claim> = {}): Claim => ({
  cluster: 'aws-us-east-1',
  uid: 'u1',
  ref: 'resource:default/db',
  namespace: 'default',
  name: 'db',
  product: 'mysql',
  tier: 'high',
  owner: 'group:default/payments',
  provider: 'aws',
  cell: 'cell-us',
  region: 'us-east-1',
  zones: ['us-east-1a', 'us-east-1b'],
  params: { size: 'medium', engineVersion: '8.4' },
  generation: 1,
  version: '8.4',
  secretVersion: 1,
  health: 'healthy',
  revision: 1,
  createdAt: 1000,
  updatedAt: 1000,
  readyAt: 1500,
  ...changes,
});

describe('stepOf', () => {
  it.each([
    ['op-1:apply_claim', 'apply_claim'],
    ['op-1:apply_claim:compensate', 'apply_claim:compensate'],
    ['observe:uid-7', 'uid-7'],
    ['no-colon', undefined],
    ['op-1:', ''],
  ])('%s → %s', (token, step) => {
    expect(stepOf(token)).toBe(step);
  });
});

describe('phaseAt', () => {
  it.each<[string, Claim | undefined, number, string]>([
    ['no claim', undefined, 0, 'absent'],
    ['before ready_at', claim(), 1499, 'provisioning'],
    ['at ready_at', claim(), 1500, 'ready'],
    ['degraded once ready', claim({ health: 'degraded' }), 2000, 'degraded'],
    [
      'degraded while provisioning',
      claim({ health: 'degraded' }),
      1200,
      'provisioning',
    ],
    ['failed once ready', claim({ health: 'failed' }), 2000, 'failed'],
    ['deleting', claim({ deletingAt: 3000, absentAt: 3200 }), 3100, 'deleting'],
    ['deleted', claim({ deletingAt: 3000, absentAt: 3200 }), 3200, 'absent'],
  ])('%s', (_, c, now, phase) => {
    expect(phaseAt(c, now)).toBe(phase);
  });
});

describe('versions', () => {
  it.each([
    [{ engineVersion: '8.4' }, '8.4'],
    [{ version: '1.4.2' }, '1.4.2'],
    [{ engineVersion: 17 }, '17'],
    [{ size: 'small' }, '1'],
  ])('versionOf(%j) = %s', (params, version) => {
    expect(versionOf(params)).toBe(version);
  });

  it.each<[string, string, number | undefined]>([
    ['8.0', '8.4', -1],
    ['8.4', '8.0', 1],
    ['16', '16', 0],
    ['10', '9.9', 1],
    ['1.2', '1.2.0', 0],
    ['latest', '1.0', undefined],
  ])('compareVersions(%s, %s) = %s', (a, b, result) => {
    expect(compareVersions(a, b)).toBe(result);
  });
});

describe('claimAfterApply', () => {
  const request = (params: Record<string, unknown>, generation = 2) => ({
    resource: {
      ref: 'resource:default/db',
      uid: 'u1',
      namespace: 'default',
      name: 'db',
      product: 'mysql',
      tier: 'high',
      owner: 'group:default/payments',
      generation,
      params,
    },
    target: {
      cell: 'cell-us',
      provider: 'aws',
      cluster: 'aws-us-east-1',
      region: 'us-east-1',
      zones: ['us-east-1a', 'us-east-1b'],
    },
  });

  it('provisions a new claim', () => {
    const c = claimAfterApply(
      undefined,
      request({ engineVersion: '8.0' }, 1),
      100,
      50,
    );
    expect(c).toMatchObject({
      readyAt: 150,
      createdAt: 100,
      revision: 1,
      version: '8.0',
      primaryZone: 'us-east-1a',
      health: 'healthy',
    });
  });

  it('provisions again when the parameters change, and forgets drift', () => {
    const c = claimAfterApply(
      claim({
        driftedAt: 1800,
        params: { size: 'large', engineVersion: '8.4' },
      }),
      request({ engineVersion: '8.4', size: 'medium' }),
      2000,
      50,
    );
    expect(c).toMatchObject({ readyAt: 2050, revision: 2, generation: 2 });
    expect(c.driftedAt).toBeUndefined();
  });

  it('keeps a ready claim ready when the parameters are the same (in any key order)', () => {
    const c = claimAfterApply(
      claim(),
      request({ engineVersion: '8.4', size: 'medium' }),
      2000,
      50,
    );
    expect(c).toMatchObject({ readyAt: 1500, generation: 2, revision: 2 });
  });

  it('creates anew over a claim that is going away', () => {
    const c = claimAfterApply(
      claim({ deletingAt: 1900, absentAt: 2100, secretVersion: 4 }),
      request({ size: 'medium' }),
      2000,
      50,
    );
    expect(c).toMatchObject({
      readyAt: 2050,
      createdAt: 2000,
      secretVersion: 1,
    });
    expect(c.deletingAt).toBeUndefined();
  });
});

describe('observationOf', () => {
  it('reports what runs with its params, endpoint, secret and conditions', () => {
    expect(observationOf(claim(), 2000)).toEqual({
      phase: 'ready',
      message: 'available on aws-us-east-1 (simulated)',
      params: { size: 'medium', engineVersion: '8.4' },
      version: '8.4',
      endpoint: {
        host: 'db.default.aws-us-east-1.simulated.internal',
        port: 3306,
      },
      connectionSecretRef: 'db-connection',
      conditions: [
        expect.objectContaining({
          type: 'Ready',
          status: 'True',
          reason: 'Available',
        }),
        expect.objectContaining({ type: 'Synced', status: 'True' }),
      ],
    });
  });

  it('reports nothing but absence when nothing runs', () => {
    expect(observationOf(undefined, 0)).toEqual({
      phase: 'absent',
      message: 'nothing runs on the cluster',
    });
  });
});

describe('judgeCall', () => {
  const fault = (f: Partial<SimulatorFault>): SimulatorFault => ({
    id: f.kind ?? 'x',
    kind: 'step-failure',
    source: 'api',
    createdAt: '',
    ...f,
  });
  const call = {
    action: 'apply' as const,
    provider: 'aws',
    cluster: 'aws-us-east-1',
    ref: 'resource:default/db',
    step: 'apply_claim',
  };

  it.each<[string, SimulatorFault[], object]>([
    ['nothing', [], { delayMs: 0, errorRate: 0, stepFailures: [] }],
    [
      'an outage of the provider',
      [fault({ kind: 'provider-outage', provider: 'aws' })],
      { outage: expect.objectContaining({ kind: 'provider-outage' }) },
    ],
    [
      'the highest error rate of the provider',
      [
        fault({ kind: 'error-rate', provider: 'aws', rate: 0.2 }),
        fault({ kind: 'error-rate', provider: 'aws', rate: 0.5 }),
        fault({ kind: 'error-rate', provider: 'gcp', rate: 1 }),
      ],
      { errorRate: 0.5 },
    ],
    [
      'slow steps of this step, added up',
      [
        fault({ kind: 'slow-step', step: 'apply_claim', delayMs: 100 }),
        fault({
          kind: 'slow-step',
          step: 'apply_claim',
          delayMs: 50,
          provider: 'aws',
        }),
        fault({
          kind: 'slow-step',
          step: 'apply_claim',
          delayMs: 999,
          provider: 'gcp',
        }),
        fault({ kind: 'slow-step', step: 'register_dns', delayMs: 999 }),
      ],
      { delayMs: 150 },
    ],
    [
      'step failures of this step or action, not exhausted',
      [
        fault({ id: 'a', step: 'apply_claim' }),
        fault({ id: 'b', action: 'apply' }),
        fault({ id: 'c', step: 'apply_claim', remaining: 0 }),
        fault({ id: 'd', step: 'apply_claim:compensate' }),
        fault({ id: 'e', action: 'delete' }),
        fault({ id: 'f', step: 'apply_claim', ref: 'resource:default/other' }),
      ],
      {
        stepFailures: [
          expect.objectContaining({ id: 'a' }),
          expect.objectContaining({ id: 'b' }),
        ],
      },
    ],
  ])('%s', (_, faults, expected) => {
    expect(judgeCall(faults, call)).toMatchObject(expected);
  });

  it('ignores outages of other providers and clusters', () => {
    const verdict = judgeCall(
      [
        fault({ kind: 'cluster-outage', cluster: 'gcp-us-central1' }),
        fault({ kind: 'provider-outage', provider: 'oci' }),
      ],
      call,
    );
    expect(verdict.outage).toBeUndefined();
  });
});
