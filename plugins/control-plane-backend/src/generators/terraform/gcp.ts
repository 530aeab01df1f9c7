import { param, sizeOf, imageOf } from '../model';
import { block, HclValue, ref } from './hcl';
import {
  labelOf,
  passwordVariable,
  TerraformTarget,
  UnitContext,
  environmentBlocks,
  resourceOf,
  offeredVersion,
} from './target';

const region = (ctx: Pick<UnitContext, 'variable'>) =>
  ctx.variable({
    name: 'region',
    type: 'string',
    description: 'the Google Cloud region',
    default: 'us-central1',
  });

const network = (ctx: UnitContext) =>
  ctx.variable({
    name: 'network',
    type: 'string',
    description: 'the self link of the VPC network private services attach to',
  });

/** MySQL and PostgreSQL: a Cloud SQL instance, its database and its user. */
const cloudSql = (engine: 'MYSQL' | 'POSTGRES') => (ctx: UnitContext) => {
  const u = ctx.unit;
  const label = labelOf(u);
  const size = sizeOf(u);
  const version = String(param(u, 'engineVersion', '')).replace('.', '_');
  const backups = param<{ enabled?: boolean }>(u, 'backups', {});
  return [
    block(
      'resource',
      [
        ['name', u.name],
        ['database_version', `${engine}_${version}`],
        ['region', region(ctx)],
        ['deletion_protection', true],
        block('settings', [
          // A custom machine: the size class's CPUs and memory (in MiB).
          ['tier', `db-custom-${size.cpu}-${size.memoryGi * 1024}`],
          ['disk_size', param(u, 'storageGi', 20)],
          [
            'availability_type',
            param(u, 'highAvailability', false) ? 'REGIONAL' : 'ZONAL',
          ],
          block('backup_configuration', [
            ['enabled', backups.enabled !== false],
          ]),
          block('ip_configuration', [
            ['ipv4_enabled', false],
            ['private_network', network(ctx)],
          ]),
          ['user_labels', { 'idp-multicloud-resource': u.name }],
        ]),
      ],
      ['google_sql_database_instance', label],
    ),
    block(
      'resource',
      [
        ['name', u.name.replace(/-/g, '_')],
        ['instance', ref(`google_sql_database_instance.${label}.name`)],
      ],
      ['google_sql_database', label],
    ),
    block(
      'resource',
      [
        ['name', 'app'],
        ['instance', ref(`google_sql_database_instance.${label}.name`)],
        ['password', passwordVariable(ctx)],
      ],
      ['google_sql_user', label],
    ),
  ];
};

export const gcp: TerraformTarget = {
  localName: 'google',
  source: 'hashicorp/google',
  version: '~> 6.0',
  configure: ctx => [
    [
      'project',
      ctx.variable({
        name: 'project',
        type: 'string',
        description: 'the Google Cloud project',
      }),
    ],
    ['region', region(ctx)],
  ],
  connection: (u): Record<string, HclValue> => {
    const at = labelOf(u);
    switch (u.product) {
      case 'mysql':
      case 'postgres':
        return {
          HOST: ref(`google_sql_database_instance.${at}.private_ip_address`),
          PORT: u.product === 'mysql' ? '3306' : '5432',
        };
      case 'redis':
        return {
          HOST: ref(`google_redis_instance.${at}.host`),
          PORT: ref(`google_redis_instance.${at}.port`),
        };
      case 'kafka':
        return {
          BOOTSTRAP_SERVERS: ref(
            `"bootstrap.${
              u.name
            }.${'$'}{var.region}.managedkafka.${'$'}{var.project}.cloud.goog:9092"`,
          ),
        };
      case 'object-bucket':
        return { BUCKET: ref(`google_storage_bucket.${at}.name`) };
      default:
        return {};
    }
  },
  products: new Map([
    ['mysql', cloudSql('MYSQL')],
    ['postgres', cloudSql('POSTGRES')],
    [
      'redis',
      resourceOf('google_redis_instance', (ctx, u) => [
        ['name', u.name],
        ['tier', param(u, 'highAvailability', false) ? 'STANDARD_HA' : 'BASIC'],
        ['memory_size_gb', Math.max(1, sizeOf(u).memoryGi)],
        [
          'redis_version',
          // Memorystore for Redis runs up to 7.2.
          offeredVersion(ctx, { '7.2': 'REDIS_7_2' }, 'REDIS_7_2'),
        ],
        ['region', region(ctx)],
        ['authorized_network', network(ctx)],
        ['auth_enabled', true],
        [
          'transit_encryption_mode',
          param(u, 'encryption', true) ? 'SERVER_AUTHENTICATION' : 'DISABLED',
        ],
        ['labels', { 'idp-multicloud-resource': u.name }],
      ]),
    ],
    [
      'kafka',
      ctx => {
        const u = ctx.unit;
        const brokers = param(u, 'brokers', 3);
        // Managed Kafka sizes a cluster by vCPUs (at least 3) and 1 to 8 GiB per vCPU.
        const vcpus = Math.max(3, sizeOf(u).cpu * brokers);
        return [
          block(
            'resource',
            [
              ['cluster_id', u.name],
              ['location', region(ctx)],
              block('capacity_config', [
                ['vcpu_count', vcpus],
                ['memory_bytes', vcpus * 4 * 1024 ** 3],
              ]),
              block('gcp_config', [
                block('access_config', [
                  block('network_configs', [
                    [
                      'subnet',
                      ctx.variable({
                        name: 'subnetwork',
                        type: 'string',
                        description:
                          'the subnetwork (projects/<p>/regions/<r>/subnetworks/<s>) Kafka clients reach',
                      }),
                    ],
                  ]),
                ]),
              ]),
              ['labels', { 'idp-multicloud-resource': u.name }],
            ],
            ['google_managed_kafka_cluster', labelOf(u)],
          ),
        ];
      },
    ],
    [
      'webapp',
      ctx => {
        const u = ctx.unit;
        const size = sizeOf(u);
        const environment = environmentBlocks(ctx, gcp);
        return [
          block(
            'resource',
            [
              ['name', u.name],
              ['location', region(ctx)],
              block('template', [
                block('scaling', [
                  ['min_instance_count', param(u, 'replicas', 2)],
                ]),
                block('containers', [
                  ['image', imageOf(u)],
                  block('ports', [['container_port', param(u, 'port', 8080)]]),
                  block('resources', [
                    [
                      'limits',
                      { cpu: String(size.cpu), memory: `${size.memoryGi}Gi` },
                    ],
                  ]),
                  environment.env,
                ]),
              ]),
            ],
            ['google_cloud_run_v2_service', labelOf(u)],
          ),
          environment.locals,
        ];
      },
    ],
    [
      'object-bucket',
      resourceOf('google_storage_bucket', ctx => [
        ['name', ctx.unit.name],
        [
          'location',
          ctx.variable({
            name: 'bucket_location',
            type: 'string',
            description: 'where buckets keep their data',
            default: 'US',
          }),
        ],
        ['uniform_bucket_level_access', true],
        block('versioning', [
          ['enabled', param(ctx.unit, 'versioning', false)],
        ]),
      ]),
    ],
  ]),
};
