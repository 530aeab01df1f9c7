import { HclBlock, HclBody } from './hcl';

/**
 * The arguments each provider resource the Terraform generator writes requires, as the
 * providers' schemas say (`terraform providers schema -json`: attributes with
 * `required: true`, and blocks with `min_items >= 1`), for the provider versions the
 * generated `versions.tf` pins. A nested one is written `block.argument`. Kept by hand:
 * a new resource type in a writer needs its row here, and the tests check every generated
 * resource against it.
 */
export const requiredArguments: Record<string, string[]> = {
  // hashicorp/aws ~> 5.0
  aws_db_instance: ['instance_class'],
  aws_elasticache_replication_group: ['replication_group_id', 'description'],
  aws_msk_cluster: [
    'cluster_name',
    'kafka_version',
    'number_of_broker_nodes',
    'broker_node_group_info',
    'broker_node_group_info.client_subnets',
    'broker_node_group_info.instance_type',
    'broker_node_group_info.security_groups',
  ],
  aws_ecs_task_definition: ['family', 'container_definitions'],
  aws_ecs_service: ['name'],
  aws_s3_bucket: [],
  // hashicorp/google ~> 6.0
  google_sql_database_instance: ['database_version', 'settings.tier'],
  google_sql_database: ['name', 'instance'],
  google_sql_user: ['name', 'instance'],
  google_redis_instance: ['name', 'memory_size_gb'],
  google_managed_kafka_cluster: [
    'cluster_id',
    'location',
    'capacity_config',
    'capacity_config.vcpu_count',
    'capacity_config.memory_bytes',
    'gcp_config',
    'gcp_config.access_config',
    'gcp_config.access_config.network_configs',
    'gcp_config.access_config.network_configs.subnet',
  ],
  google_cloud_run_v2_service: [
    'name',
    'location',
    'template',
    'template.containers.image',
  ],
  google_storage_bucket: ['name', 'location'],
  // hashicorp/azurerm ~> 4.0
  azurerm_mysql_flexible_server: ['name', 'resource_group_name', 'location'],
  azurerm_postgresql_flexible_server: [
    'name',
    'resource_group_name',
    'location',
  ],
  azurerm_redis_cache: [
    'name',
    'resource_group_name',
    'location',
    'capacity',
    'family',
    'sku_name',
  ],
  azurerm_eventhub_namespace: [
    'name',
    'location',
    'resource_group_name',
    'sku',
  ],
  azurerm_container_app: [
    'name',
    'resource_group_name',
    'container_app_environment_id',
    'revision_mode',
    'template',
    'template.container',
    'template.container.name',
    'template.container.image',
    'template.container.cpu',
    'template.container.memory',
  ],
  azurerm_storage_account: [
    'name',
    'resource_group_name',
    'location',
    'account_tier',
    'account_replication_type',
  ],
  // oracle/oci ~> 6.0
  oci_mysql_mysql_db_system: [
    'availability_domain',
    'compartment_id',
    'shape_name',
    'subnet_id',
  ],
  oci_psql_db_system: [
    'compartment_id',
    'db_version',
    'display_name',
    'network_details',
    'network_details.subnet_id',
    'shape',
    'storage_details',
    'storage_details.is_regionally_durable',
    'storage_details.system_type',
  ],
  oci_redis_redis_cluster: [
    'compartment_id',
    'display_name',
    'node_count',
    'node_memory_in_gbs',
    'software_version',
    'subnet_id',
  ],
  oci_streaming_stream_pool: ['compartment_id', 'name'],
  oci_container_instances_container_instance: [
    'availability_domain',
    'compartment_id',
    'containers',
    'containers.image_url',
    'shape',
    'shape_config',
    'shape_config.ocpus',
    'vnics',
    'vnics.subnet_id',
  ],
  oci_objectstorage_bucket: ['compartment_id', 'name', 'namespace'],
};

/** Whether `body` has `path` (`a.b.c`: an attribute or block `a`, holding `b.c`). */
function has(body: HclBody, path: string[]): boolean {
  const [head, ...rest] = path;
  return body.some(entry => {
    if (Array.isArray(entry)) {
      return entry[0] === head && entry[1] !== undefined && rest.length === 0;
    }
    return entry.type === head && (rest.length === 0 || has(entry.body, rest));
  });
}

/**
 * The required arguments a `resource` block lacks; for a resource type missing from
 * {@link requiredArguments}, that row.
 */
export function missingArguments(resource: HclBlock): string[] {
  const [type] = resource.labels ?? [];
  if (!Object.hasOwn(requiredArguments, type)) {
    return [`(no row for ${type} in requiredArguments)`];
  }
  return requiredArguments[type].filter(p => !has(resource.body, p.split('.')));
}
