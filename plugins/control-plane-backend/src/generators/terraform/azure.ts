import { param, sizeOf, imageOf } from '../model';
import { block, HclValue, ref } from './hcl';
import {
  bySize,
  labelOf,
  passwordVariable,
  TerraformTarget,
  UnitContext,
  environmentBlocks,
  offeredVersion,
  resourceOf,
} from './target';

const common = (ctx: UnitContext) =>
  [
    ['name', ctx.unit.name],
    [
      'resource_group_name',
      ctx.variable({
        name: 'resource_group_name',
        type: 'string',
        description: 'the resource group the resources are created in',
      }),
    ],
    [
      'location',
      ctx.variable({
        name: 'location',
        type: 'string',
        description: 'the Azure region',
        default: 'eastus',
      }),
    ],
  ] as [string, ReturnType<typeof ref> | string][];

const flexibleSkus = {
  small: 'B_Standard_B2s',
  medium: 'GP_Standard_D2ds_v4',
  large: 'GP_Standard_D4ds_v4',
  xlarge: 'GP_Standard_D8ds_v4',
};

const tags = (ctx: UnitContext) =>
  ['tags', { 'idp.multicloud/resource': ctx.unit.ref }] as [
    string,
    Record<string, string>,
  ];

/** MySQL and PostgreSQL: a flexible server. */
const flexibleServer =
  (type: string, version: (ctx: UnitContext) => string) =>
  (ctx: UnitContext) => {
    const u = ctx.unit;
    const backups = param<{ retentionDays?: number }>(u, 'backups', {});
    return [
      block(
        'resource',
        [
          ...common(ctx),
          ['version', version(ctx)],
          ['sku_name', bySize(u, flexibleSkus)],
          ['administrator_login', 'app'],
          ['administrator_password', passwordVariable(ctx)],
          ['backup_retention_days', backups.retentionDays ?? 7],
          ...(param(u, 'highAvailability', false)
            ? [block('high_availability', [['mode', 'ZoneRedundant']])]
            : []),
          type === 'azurerm_mysql_flexible_server'
            ? block('storage', [['size_gb', param(u, 'storageGi', 20)]])
            : ['storage_mb', storageMb(param(u, 'storageGi', 32))],
          tags(ctx),
        ],
        [type, labelOf(u)],
      ),
    ];
  };

/** PostgreSQL flexible servers take one of a list of disk sizes: the next one up. */
function storageMb(gi: number): number {
  const sizes = [
    32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304,
    8388608, 16777216,
  ];
  return sizes.find(s => s >= gi * 1024) ?? sizes[sizes.length - 1];
}

export const azure: TerraformTarget = {
  localName: 'azurerm',
  source: 'hashicorp/azurerm',
  version: '~> 4.0',
  configure: () => [block('features', [])],
  connection: (u): Record<string, HclValue> => {
    const at = labelOf(u);
    switch (u.product) {
      case 'mysql':
        return {
          HOST: ref(`azurerm_mysql_flexible_server.${at}.fqdn`),
          PORT: '3306',
        };
      case 'postgres':
        return {
          HOST: ref(`azurerm_postgresql_flexible_server.${at}.fqdn`),
          PORT: '5432',
        };
      case 'redis':
        return {
          HOST: ref(`azurerm_redis_cache.${at}.hostname`),
          PORT: ref(`azurerm_redis_cache.${at}.ssl_port`),
        };
      case 'kafka':
        // Event Hubs speaks the Kafka protocol on port 9093.
        return {
          BOOTSTRAP_SERVERS: ref(
            `"${'$'}{azurerm_eventhub_namespace.${at}.name}.servicebus.windows.net:9093"`,
          ),
        };
      case 'object-bucket':
        return {
          BUCKET: ref(`azurerm_storage_account.${at}.primary_blob_endpoint`),
        };
      default:
        return {};
    }
  },
  products: new Map([
    [
      'mysql',
      // Azure's flexible servers run the 8.0 line (8.0.21 and later patches).
      flexibleServer('azurerm_mysql_flexible_server', ctx =>
        offeredVersion(ctx, { '8.0': '8.0.21' }, '8.0.21'),
      ),
    ],
    [
      'postgres',
      flexibleServer('azurerm_postgresql_flexible_server', ctx =>
        String(param(ctx.unit, 'engineVersion', '16')),
      ),
    ],
    [
      'redis',
      resourceOf('azurerm_redis_cache', (ctx, u) => [
        ...common(ctx),
        ['capacity', bySize(u, { small: 1, medium: 2, large: 3, xlarge: 4 })],
        ['family', 'C'],
        ['sku_name', 'Standard'],
        ['minimum_tls_version', '1.2'],
        ['non_ssl_port_enabled', false],
        block('redis_configuration', [
          ['maxmemory_policy', param(u, 'maxMemoryPolicy', 'allkeys-lru')],
        ]),
        tags(ctx),
      ]),
    ],
    [
      'kafka',
      resourceOf('azurerm_eventhub_namespace', ctx => [
        ...common(ctx),
        ['sku', 'Standard'],
        ['capacity', param(ctx.unit, 'brokers', 3)],
        tags(ctx),
      ]),
    ],
    [
      'webapp',
      ctx => {
        const u = ctx.unit;
        const size = sizeOf(u);
        const [name, group] = common(ctx);
        const environment = environmentBlocks(ctx, azure);
        return [
          block(
            'resource',
            [
              name,
              group,
              [
                'container_app_environment_id',
                ctx.variable({
                  name: 'container_app_environment_id',
                  type: 'string',
                  description:
                    'the Container Apps environment the services run in',
                }),
              ],
              ['revision_mode', 'Single'],
              block('template', [
                ['min_replicas', param(u, 'replicas', 2)],
                block('container', [
                  ['name', u.name],
                  ['image', imageOf(u)],
                  // Container Apps allows up to 2 vCPUs and 4 GiB per container.
                  ['cpu', Math.min(2, size.cpu)],
                  ['memory', `${Math.min(4, size.memoryGi)}Gi`],
                  environment.env,
                ]),
              ]),
              block('ingress', [
                ['external_enabled', true],
                ['target_port', param(u, 'port', 8080)],
                block('traffic_weight', [
                  ['latest_revision', true],
                  ['percentage', 100],
                ]),
              ]),
              tags(ctx),
            ],
            ['azurerm_container_app', labelOf(u)],
          ),
          environment.locals,
        ];
      },
    ],
    [
      'object-bucket',
      ctx => {
        const [, group, location] = common(ctx);
        return [
          block(
            'resource',
            [
              // Storage account names: 3 to 24 lowercase letters and digits.
              ['name', ctx.unit.name.replace(/[^a-z0-9]/g, '').slice(0, 24)],
              group,
              location,
              ['account_tier', 'Standard'],
              [
                'account_replication_type',
                param(ctx.unit, 'replication', false) ? 'GRS' : 'LRS',
              ],
              tags(ctx),
            ],
            ['azurerm_storage_account', labelOf(ctx.unit)],
          ),
        ];
      },
    ],
  ]),
};
