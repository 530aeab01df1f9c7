import { DeliveredResource } from '@idp-multicloud/plugin-control-plane-node';

/** A webapp placed on aws-us-east-1, as the control plane tells a delivery provider of it. */
export const webapp = (
  overrides: Partial<DeliveredResource['resource']> = {},
): DeliveredResource => ({
  resource: {
    ref: 'resource:shop/storefront',
    uid: '1d7e0c52-4f55-4a11-9c1e-0c0d6a3b2f10',
    namespace: 'shop',
    name: 'storefront',
    product: 'webapp',
    tier: 'high',
    owner: 'group:default/shop',
    generation: 2,
    params: { image: 'ghcr.io/acme/storefront', version: '1.4.2', port: 8080 },
    labels: {},
    ...overrides,
  },
  target: {
    cell: 'cell-us',
    provider: 'aws',
    cluster: 'aws-us-east-1',
    region: 'us-east-1',
    zones: ['us-east-1a'],
  },
});
