import { buildClaim, observeClaim } from './claims';

const resource = {
  ref: 'resource:payments/checkout',
  uid: 'uid-1',
  namespace: 'payments',
  name: 'checkout',
  product: 'webapp',
  tier: 'medium',
  owner: 'group:default/payments',
  generation: 1,
  labels: {},
  params: {
    image: 'ghcr.io/acme/checkout',
    version: '1.4.2',
    env: {
      LOG_LEVEL: 'info',
      DB_PASSWORD: { secretRef: { name: 'checkout-db', key: 'password' } },
    },
  },
};
const target = {
  cell: 'cell-us',
  provider: 'aws',
  cluster: 'us-aws-1',
  region: 'us-east-1',
  zones: ['us-east-1a'],
};

describe('secret references in claims', () => {
  it('renders a secret reference as a secretKeyRef, never a value, and reads it back as the reference', () => {
    const claim = buildClaim(
      resource,
      target,
      { idempotencyToken: 'op:apply_claim' } as any,
      { apiVersion: 'apps.idp.multicloud/v1alpha1', kind: 'WebApp' },
    );
    expect(claim.spec!.parameters.env).toEqual({
      LOG_LEVEL: 'info',
      DB_PASSWORD: {
        valueFrom: { secretKeyRef: { name: 'checkout-db', key: 'password' } },
      },
    });
    // What the control plane observes is what it asked for: no drift.
    expect(observeClaim(claim).params).toEqual(resource.params);
  });
});
