import { ObservedResource } from '@idp-multicloud/plugin-control-plane-node';
import { KubeObject, observeClaim, resolveClaimMappings } from './claims';

const at = '2026-11-23T10:00:00Z';
const synced = (status: string, message?: string) => ({
  type: 'Synced',
  status,
  lastTransitionTime: at,
  ...(message ? { reason: 'ReconcileError', message } : {}),
});
const ready = (
  status: string,
  reason = status === 'True' ? 'Available' : 'Creating',
) => ({
  type: 'Ready',
  status,
  reason,
  lastTransitionTime: at,
});

function claim(conditions?: object[], deleting = false): KubeObject {
  return {
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'MySQLInstance',
    metadata: {
      name: 'orders-db',
      namespace: 'team-a',
      ...(deleting ? { deletionTimestamp: new Date(at) } : {}),
    },
    spec: { parameters: { size: 'small' } },
    ...(conditions ? { status: { conditions } } : {}),
  };
}

describe('observeClaim', () => {
  it.each<[string, KubeObject, Partial<ObservedResource>]>([
    ['no status yet', claim(), { phase: 'provisioning' }],
    [
      'synced, not ready yet',
      claim([synced('True'), ready('False')]),
      { phase: 'provisioning' },
    ],
    [
      'ready and synced',
      claim([synced('True'), ready('True')]),
      { phase: 'ready' },
    ],
    [
      'ready but not synced',
      claim([synced('False', 'quota exceeded'), ready('True')]),
      { phase: 'degraded', message: 'quota exceeded' },
    ],
    [
      'never ready, not synced',
      claim([synced('False', 'bad region'), ready('False')]),
      { phase: 'failed', message: 'bad region' },
    ],
    [
      'not synced, no Ready',
      claim([synced('False', 'bad region')]),
      { phase: 'failed', message: 'bad region' },
    ],
    [
      'being deleted',
      claim([synced('True'), ready('True')], true),
      { phase: 'deleting' },
    ],
  ])('%s', (_, input, expected) => {
    const observed = observeClaim(input);
    expect({ phase: observed.phase, message: observed.message }).toEqual({
      message: undefined,
      ...expected,
    });
  });

  it('maps conditions to the control plane shape, with params and the secret', () => {
    const observed = observeClaim({
      ...claim([{ type: 'Ready', status: 'Maybe' }]),
      metadata: {
        name: 'orders-db',
        namespace: 'team-a',
        creationTimestamp: new Date(at),
      },
      spec: {
        parameters: { size: 'small' },
        writeConnectionSecretToRef: { name: 'orders-db-connection' },
      },
      status: {
        conditions: [{ type: 'Ready', status: 'Maybe' }],
        version: '8.0.36',
      },
    });
    expect(observed).toEqual({
      phase: 'provisioning',
      params: { size: 'small' },
      connectionSecretRef: 'orders-db-connection',
      version: '8.0.36',
      conditions: [
        {
          type: 'Ready',
          status: 'Unknown',
          lastTransitionTime: '2026-11-23T10:00:00.000Z',
        },
      ],
    });
  });
});

describe('resolveClaimMappings', () => {
  it('keeps the defaults an override does not name', () => {
    const mappings = resolveClaimMappings({ mysql: { kind: 'MySQL' } });
    expect(mappings.mysql).toMatchObject({
      apiVersion: 'database.idp.multicloud/v1alpha1',
      kind: 'MySQL',
      port: 3306,
    });
  });

  it('needs apiVersion and kind for a product without defaults', () => {
    expect(() =>
      resolveClaimMappings({ mongodb: { kind: 'MongoDB' } }),
    ).toThrow("product 'mongodb'");
  });
});
