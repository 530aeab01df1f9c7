import { param, sizeOf, imageOf } from '../model';
import { block, HclValue, ref } from './hcl';
import {
  bySize,
  labelOf,
  passwordVariable,
  TerraformTarget,
  UnitContext,
  webappEnvironment,
  resourceOf,
  offeredVersion,
} from './target';

const compartment = (ctx: UnitContext) =>
  [
    'compartment_id',
    ctx.variable({
      name: 'compartment_id',
      type: 'string',
      description: 'the OCID of the compartment the resources are created in',
    }),
  ] as [string, ReturnType<typeof ref>];

const subnet = (ctx: UnitContext) =>
  ctx.variable({
    name: 'subnet_id',
    type: 'string',
    description: 'the OCID of the private subnet the resources are placed in',
  });

const availabilityDomain = (ctx: UnitContext) =>
  [
    'availability_domain',
    ctx.variable({
      name: 'availability_domain',
      type: 'string',
      description: 'the availability domain, e.g. Uocm:US-ASHBURN-AD-1',
    }),
  ] as [string, ReturnType<typeof ref>];

const tags = (ctx: UnitContext) =>
  ['freeform_tags', { 'idp.multicloud/resource': ctx.unit.ref }] as [
    string,
    Record<string, string>,
  ];

export const oci: TerraformTarget = {
  localName: 'oci',
  source: 'oracle/oci',
  version: '~> 6.0',
  configure: ctx => [
    [
      'region',
      ctx.variable({
        name: 'region',
        type: 'string',
        description: 'the OCI region',
        default: 'us-ashburn-1',
      }),
    ],
  ],
  connection: (u): Record<string, HclValue> => {
    const at = labelOf(u);
    switch (u.product) {
      case 'mysql':
        return {
          HOST: ref(`oci_mysql_mysql_db_system.${at}.ip_address`),
          PORT: ref(`oci_mysql_mysql_db_system.${at}.port`),
        };
      case 'postgres':
        return {
          HOST: ref(
            `oci_psql_db_system.${at}.network_details[0].primary_db_endpoint_private_ip`,
          ),
          PORT: '5432',
        };
      case 'redis':
        return {
          HOST: ref(`oci_redis_redis_cluster.${at}.primary_fqdn`),
          PORT: '6379',
        };
      case 'kafka':
        return {
          BOOTSTRAP_SERVERS: ref(
            `oci_streaming_stream_pool.${at}.kafka_settings[0].bootstrap_servers`,
          ),
        };
      case 'object-bucket':
        return { BUCKET: ref(`oci_objectstorage_bucket.${at}.name`) };
      default:
        return {};
    }
  },
  products: new Map([
    [
      'mysql',
      ctx => {
        const u = ctx.unit;
        const backups = param<{ enabled?: boolean; retentionDays?: number }>(
          u,
          'backups',
          {},
        );
        return [
          block(
            'resource',
            [
              availabilityDomain(ctx),
              compartment(ctx),
              [
                'shape_name',
                bySize(u, {
                  small: 'MySQL.VM.Standard.E4.1.8GB',
                  medium: 'MySQL.VM.Standard.E4.2.32GB',
                  large: 'MySQL.VM.Standard.E4.4.64GB',
                  xlarge: 'MySQL.VM.Standard.E4.8.128GB',
                }),
              ],
              ['subnet_id', subnet(ctx)],
              ['display_name', u.name],
              ['admin_username', 'app'],
              ['admin_password', passwordVariable(ctx)],
              [
                'data_storage_size_in_gb',
                Math.max(50, param(u, 'storageGi', 50)),
              ],
              ['is_highly_available', param(u, 'highAvailability', false)],
              block('backup_policy', [
                ['is_enabled', backups.enabled !== false],
                ['retention_in_days', backups.retentionDays ?? 7],
              ]),
              tags(ctx),
            ],
            ['oci_mysql_mysql_db_system', labelOf(u)],
          ),
        ];
      },
    ],
    [
      'postgres',
      resourceOf('oci_psql_db_system', (ctx, u) => {
        const size = sizeOf(u);
        return [
          compartment(ctx),
          ['db_version', String(param(u, 'engineVersion', '16'))],
          ['display_name', u.name],
          ['shape', 'PostgreSQL.VM.Standard.E4.Flex'],
          ['instance_ocpu_count', size.cpu],
          ['instance_memory_size_in_gbs', Math.max(16, size.memoryGi)],
          ['instance_count', 1 + param(u, 'replicas', 1)],
          block('network_details', [['subnet_id', subnet(ctx)]]),
          block('storage_details', [
            ['is_regionally_durable', param(u, 'highAvailability', false)],
            ['system_type', 'OCI_OPTIMIZED_STORAGE'],
          ]),
          block('credentials', [
            ['username', 'app'],
            block('password_details', [
              ['password_type', 'PLAIN_TEXT'],
              ['password', passwordVariable(ctx)],
            ]),
          ]),
          tags(ctx),
        ];
      }),
    ],
    [
      'redis',
      resourceOf('oci_redis_redis_cluster', (ctx, u) => [
        compartment(ctx),
        ['display_name', u.name],
        ['node_count', 1 + param(u, 'replicas', 1)],
        ['node_memory_in_gbs', Math.max(2, sizeOf(u).memoryGi)],
        // OCI Cache offers Redis 7.0.
        ['software_version', offeredVersion(ctx, {}, 'V7_0_5')],
        ['subnet_id', subnet(ctx)],
        tags(ctx),
      ]),
    ],
    [
      'kafka',
      resourceOf('oci_streaming_stream_pool', (ctx, u) => [
        compartment(ctx),
        ['name', u.name],
        block('kafka_settings', [
          ['auto_create_topics_enable', false],
          ['log_retention_hours', param(u, 'retentionHours', 168)],
          ['num_partitions', param(u, 'defaultPartitions', 12)],
        ]),
        tags(ctx),
      ]),
    ],
    [
      'webapp',
      resourceOf('oci_container_instances_container_instance', (ctx, u) => {
        const size = sizeOf(u);
        return [
          availabilityDomain(ctx),
          compartment(ctx),
          ['display_name', u.name],
          ['shape', 'CI.Standard.E4.Flex'],
          block('shape_config', [
            ['ocpus', size.cpu],
            ['memory_in_gbs', size.memoryGi],
          ]),
          block('containers', [
            ['display_name', u.name],
            ['image_url', imageOf(u)],
            ['environment_variables', webappEnvironment(ctx, oci)],
          ]),
          block('vnics', [['subnet_id', subnet(ctx)]]),
          tags(ctx),
        ];
      }),
    ],
    [
      'object-bucket',
      resourceOf('oci_objectstorage_bucket', ctx => [
        compartment(ctx),
        ['name', ctx.unit.name],
        [
          'namespace',
          ctx.variable({
            name: 'object_storage_namespace',
            type: 'string',
            description: "the tenancy's Object Storage namespace",
          }),
        ],
        [
          'versioning',
          param(ctx.unit, 'versioning', false) ? 'Enabled' : 'Disabled',
        ],
        tags(ctx),
      ]),
    ],
  ]),
};
