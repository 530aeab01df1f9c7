import { param, sizeOf, imageOf } from '../model';
import { block, HclValue, hclValue, ref } from './hcl';
import {
  bySize,
  labelOf,
  passwordVariable,
  TerraformTarget,
  UnitContext,
  webappEnvironment,
  resourceOf,
} from './target';

const dbClasses = {
  small: 'db.t4g.medium',
  medium: 'db.m6g.large',
  large: 'db.m6g.xlarge',
  xlarge: 'db.m6g.2xlarge',
};

const subnets = (ctx: UnitContext) =>
  ctx.variable({
    name: 'subnet_ids',
    type: 'list(string)',
    description: 'the private subnets the resources are placed in',
  });

const securityGroups = (ctx: UnitContext) =>
  ctx.variable({
    name: 'security_group_ids',
    type: 'list(string)',
    description: 'the security groups of the resources',
  });

/** MySQL and PostgreSQL: one RDS instance. */
const rds = (engine: 'mysql' | 'postgres') => (ctx: UnitContext) => {
  const u = ctx.unit;
  return [
    block(
      'resource',
      [
        ['identifier', u.name],
        ['engine', engine],
        ['engine_version', param(u, 'engineVersion', '')],
        ['instance_class', bySize(u, dbClasses)],
        ['allocated_storage', param(u, 'storageGi', 20)],
        ['db_name', u.name.replace(/-/g, '_')],
        ['username', 'app'],
        ['password', passwordVariable(ctx)],
        ['multi_az', param(u, 'highAvailability', false)],
        ['storage_encrypted', param(u, 'encryption', true)],
        [
          'backup_retention_period',
          param<{ enabled?: boolean; retentionDays?: number }>(u, 'backups', {})
            .enabled === false
            ? 0
            : param<{ retentionDays?: number }>(u, 'backups', {})
                .retentionDays ?? 7,
        ],
        ['vpc_security_group_ids', securityGroups(ctx)],
        ['skip_final_snapshot', false],
        ['final_snapshot_identifier', `${u.name}-final`],
        ['tags', { 'idp.multicloud/resource': u.ref }],
      ],
      ['aws_db_instance', labelOf(u)],
    ),
  ];
};

export const aws: TerraformTarget = {
  localName: 'aws',
  source: 'hashicorp/aws',
  version: '~> 5.0',
  configure: ctx => [
    [
      'region',
      ctx.variable({
        name: 'region',
        type: 'string',
        description: 'the AWS region',
        default: 'us-east-1',
      }),
    ],
  ],
  connection: (u): Record<string, HclValue> => {
    const at = `${labelOf(u)}`;
    switch (u.product) {
      case 'mysql':
      case 'postgres':
        return {
          HOST: ref(`aws_db_instance.${at}.address`),
          PORT: ref(`aws_db_instance.${at}.port`),
        };
      case 'redis':
        return {
          HOST: ref(
            `aws_elasticache_replication_group.${at}.primary_endpoint_address`,
          ),
          PORT: ref(`aws_elasticache_replication_group.${at}.port`),
        };
      case 'kafka':
        return {
          BOOTSTRAP_SERVERS: ref(`aws_msk_cluster.${at}.bootstrap_brokers_tls`),
        };
      case 'object-bucket':
        return { BUCKET: ref(`aws_s3_bucket.${at}.bucket`) };
      default:
        return {};
    }
  },
  products: new Map([
    ['mysql', rds('mysql')],
    ['postgres', rds('postgres')],
    [
      'redis',
      resourceOf('aws_elasticache_replication_group', (ctx, u) => {
        const replicas = param(u, 'replicas', 1);
        return [
          ['replication_group_id', u.name],
          ['description', `${u.ref} (tier ${u.tier})`],
          ['engine', 'redis'],
          ['engine_version', param(u, 'engineVersion', '7.4')],
          [
            'node_type',
            bySize(u, {
              small: 'cache.t4g.small',
              medium: 'cache.m6g.large',
              large: 'cache.m6g.xlarge',
              xlarge: 'cache.m6g.2xlarge',
            }),
          ],
          ['num_cache_clusters', 1 + replicas],
          [
            'automatic_failover_enabled',
            param(u, 'highAvailability', false) && replicas > 0,
          ],
          ['at_rest_encryption_enabled', param(u, 'encryption', true)],
          ['transit_encryption_enabled', true],
          ['auth_token', passwordVariable(ctx)],
          ['security_group_ids', securityGroups(ctx)],
          ['tags', { 'idp.multicloud/resource': u.ref }],
        ];
      }),
    ],
    [
      'kafka',
      resourceOf('aws_msk_cluster', (ctx, u) => {
        const version = param(u, 'engineVersion', '3.9');
        return [
          ['cluster_name', u.name],
          ['kafka_version', `${version}.x`],
          ['number_of_broker_nodes', param(u, 'brokers', 3)],
          block('broker_node_group_info', [
            [
              'instance_type',
              bySize(u, {
                small: 'kafka.t3.small',
                medium: 'kafka.m5.large',
                large: 'kafka.m5.xlarge',
                xlarge: 'kafka.m5.2xlarge',
              }),
            ],
            ['client_subnets', subnets(ctx)],
            ['security_groups', securityGroups(ctx)],
            block('storage_info', [
              block('ebs_storage_info', [
                ['volume_size', param(u, 'storageGi', 100)],
              ]),
            ]),
          ]),
          block('encryption_info', [
            block('encryption_in_transit', [
              ['client_broker', 'TLS'],
              ['in_cluster', true],
            ]),
          ]),
          ['tags', { 'idp.multicloud/resource': u.ref }],
        ];
      }),
    ],
    [
      'webapp',
      ctx => {
        const u = ctx.unit;
        const size = sizeOf(u);
        const port = param(u, 'port', 8080);
        const label = labelOf(u);
        const environment = webappEnvironment(ctx, aws);
        return [
          block(
            'resource',
            [
              ['family', u.name],
              ['requires_compatibilities', ['FARGATE']],
              ['network_mode', 'awsvpc'],
              ['cpu', String(Math.round(size.cpu * 1024))],
              ['memory', String(Math.round(size.memoryGi * 1024))],
              [
                'container_definitions',
                ref(
                  `jsonencode(${hclValue(
                    [
                      {
                        name: u.name,
                        image: imageOf(u),
                        essential: true,
                        portMappings: [
                          { containerPort: port, protocol: 'tcp' },
                        ],
                        environment: ref(
                          `[for k, v in local.${label}_environment : { name = k, value = tostring(v) }]`,
                        ),
                      },
                    ],
                    '  ',
                  )})`,
                ),
              ],
            ],
            ['aws_ecs_task_definition', label],
          ),
          block('locals', [[`${label}_environment`, environment]]),
          block(
            'resource',
            [
              ['name', u.name],
              [
                'cluster',
                ctx.variable({
                  name: 'ecs_cluster_arn',
                  type: 'string',
                  description: 'the ECS cluster the services run on',
                }),
              ],
              ['task_definition', ref(`aws_ecs_task_definition.${label}.arn`)],
              ['desired_count', param(u, 'replicas', 2)],
              ['launch_type', 'FARGATE'],
              block('network_configuration', [
                ['subnets', subnets(ctx)],
                ['security_groups', securityGroups(ctx)],
              ]),
            ],
            ['aws_ecs_service', label],
          ),
        ];
      },
    ],
    [
      'object-bucket',
      resourceOf('aws_s3_bucket', ctx => [
        ['bucket', ctx.unit.name],
        ['tags', { 'idp.multicloud/resource': ctx.unit.ref }],
      ]),
    ],
  ]),
};
