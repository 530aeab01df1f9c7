import {
  builtinProducts,
  ManifestOf,
  manifestSchema,
  ownValue,
  ProductSpec,
} from '@idp-multicloud/plugin-control-plane-common';
import { SelectionSource } from '../select';

type ResourceManifest = ManifestOf<'Resource'>;

/** A resource manifest as the state repository holds it (parsed: defaults filled in). */
export function resource(
  name: string,
  spec: Record<string, unknown>,
  namespace = 'default',
): ResourceManifest {
  return manifestSchema.parse({
    apiVersion: 'idp.multicloud/v1',
    kind: 'Resource',
    metadata: { name, namespace },
    spec: {
      owner: 'group:default/payments',
      tier: 'medium',
      cell: 'cell-us',
      ...spec,
    },
  }) as ResourceManifest;
}

/**
 * The example application: the checkout web service of the payments System, its MySQL
 * database, its Redis cache and its Kafka events; and a ledger PostgreSQL of the System.
 */
export const checkoutResources: ResourceManifest[] = [
  resource('checkout', {
    product: 'webapp',
    component: 'component:default/checkout',
    dependsOn: ['checkout-db', 'checkout-cache', 'checkout-events'],
    params: {
      image: 'ghcr.io/acme/checkout',
      version: '1.4.2',
      env: {
        LOG_LEVEL: 'info',
        STRIPE_API_KEY: { secretRef: { name: 'stripe', key: 'api-key' } },
      },
    },
  }),
  resource('checkout-db', {
    product: 'mysql',
    component: 'component:default/checkout',
    params: { size: 'small', storageGi: 50 },
  }),
  resource('checkout-cache', {
    product: 'redis',
    component: 'component:default/checkout',
    params: { persistence: 'aof' },
  }),
  resource('checkout-events', {
    product: 'kafka',
    component: 'component:default/checkout',
    params: { brokers: 3, engineVersion: '3.8' },
  }),
  resource('ledger', {
    product: 'postgres',
    component: 'system:default/payments',
    tier: 'high',
    params: { engineVersion: '16', highAvailability: true },
  }),
];

/** A selection source over `resources`, with the built-in products, reading `readable`. */
export function sourceOf(
  resources: ResourceManifest[],
  readable: (r: ResourceManifest) => boolean = () => true,
): SelectionSource {
  return {
    resources,
    product: id => ownValue<ProductSpec>(builtinProducts, id),
    canRead: readable,
  };
}
