import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Request a MySQL database and wait until it is READY',
    example: yaml.stringify({
      steps: [
        {
          id: 'database',
          action: 'control-plane:resource:create',
          name: 'Create the database',
          input: {
            product: 'mysql',
            name: 'orders-db',
            owner: 'group:default/payments',
            component: 'component:default/orders',
            tier: 'high',
            cell: 'cell-us',
            params: { size: 'large', storageGi: 50, engineVersion: '8.4' },
            wait: true,
            timeout: '15m',
          },
        },
      ],
    }),
  },
  {
    description:
      'A web app that depends on a database and a cache created by earlier steps',
    example: yaml.stringify({
      steps: [
        {
          id: 'webapp',
          action: 'control-plane:resource:create',
          name: 'Create the service',
          input: {
            product: 'webapp',
            name: 'orders',
            namespace: 'payments',
            owner: 'group:default/payments',
            tier: 'medium',
            cell: 'cell-eu',
            params: { image: 'ghcr.io/acme/orders', version: '1.0.0' },
            dependsOn: [
              '${{ steps.database.output.ref }}',
              '${{ steps.cache.output.ref }}',
            ],
            labels: { team: 'payments' },
          },
        },
      ],
    }),
  },
];
