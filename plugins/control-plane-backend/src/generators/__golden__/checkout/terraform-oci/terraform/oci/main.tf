resource "oci_redis_redis_cluster" "checkout_cache" {
  compartment_id = var.compartment_id
  display_name = "checkout-cache"
  node_count = 2
  node_memory_in_gbs = 2
  software_version = "V7_0_5"
  subnet_id = var.subnet_id
  freeform_tags = {
    "idp.multicloud/resource" = "resource:default/checkout-cache"
  }
}

resource "oci_mysql_mysql_db_system" "checkout_db" {
  availability_domain = var.availability_domain
  compartment_id = var.compartment_id
  shape_name = "MySQL.VM.Standard.E4.1.8GB"
  subnet_id = var.subnet_id
  display_name = "checkout-db"
  admin_username = "app"
  admin_password = var.checkout_db_password
  data_storage_size_in_gb = 50
  is_highly_available = false
  backup_policy {
    is_enabled = true
    retention_in_days = 7
  }
  freeform_tags = {
    "idp.multicloud/resource" = "resource:default/checkout-db"
  }
}

resource "oci_streaming_stream_pool" "checkout_events" {
  compartment_id = var.compartment_id
  name = "checkout-events"
  kafka_settings {
    auto_create_topics_enable = false
    log_retention_hours = 168
    num_partitions = 12
  }
  freeform_tags = {
    "idp.multicloud/resource" = "resource:default/checkout-events"
  }
}

resource "oci_container_instances_container_instance" "checkout" {
  availability_domain = var.availability_domain
  compartment_id = var.compartment_id
  display_name = "checkout"
  shape = "CI.Standard.E4.Flex"
  shape_config {
    ocpus = 0.25
    memory_in_gbs = 0.5
  }
  containers {
    display_name = "checkout"
    image_url = "ghcr.io/acme/checkout:1.4.2"
    environment_variables = {
      PORT = "8080"
      LOG_LEVEL = "info"
      STRIPE_API_KEY = var.stripe_api_key
      CHECKOUT_DB_HOST = oci_mysql_mysql_db_system.checkout_db.ip_address
      CHECKOUT_DB_PORT = oci_mysql_mysql_db_system.checkout_db.port
      CHECKOUT_DB_PASSWORD = var.checkout_db_password
      CHECKOUT_CACHE_HOST = oci_redis_redis_cluster.checkout_cache.primary_fqdn
      CHECKOUT_CACHE_PORT = "6379"
      CHECKOUT_CACHE_PASSWORD = var.checkout_cache_password
      CHECKOUT_EVENTS_BOOTSTRAP_SERVERS = oci_streaming_stream_pool.checkout_events.kafka_settings[0].bootstrap_servers
    }
  }
  vnics {
    subnet_id = var.subnet_id
  }
  freeform_tags = {
    "idp.multicloud/resource" = "resource:default/checkout"
  }
}
