resource "azurerm_redis_cache" "checkout_cache" {
  name = "checkout-cache"
  resource_group_name = var.resource_group_name
  location = var.location
  capacity = 1
  family = "C"
  sku_name = "Standard"
  minimum_tls_version = "1.2"
  non_ssl_port_enabled = false
  redis_configuration {
    maxmemory_policy = "allkeys-lru"
  }
  tags = {
    "idp.multicloud/resource" = "resource:default/checkout-cache"
  }
}

resource "azurerm_mysql_flexible_server" "checkout_db" {
  name = "checkout-db"
  resource_group_name = var.resource_group_name
  location = var.location
  version = "8.0.21"
  sku_name = "B_Standard_B2s"
  administrator_login = "app"
  administrator_password = var.checkout_db_password
  backup_retention_days = 7
  storage {
    size_gb = 50
  }
  tags = {
    "idp.multicloud/resource" = "resource:default/checkout-db"
  }
}

resource "azurerm_eventhub_namespace" "checkout_events" {
  name = "checkout-events"
  resource_group_name = var.resource_group_name
  location = var.location
  sku = "Standard"
  capacity = 3
  tags = {
    "idp.multicloud/resource" = "resource:default/checkout-events"
  }
}

resource "azurerm_container_app" "checkout" {
  name = "checkout"
  resource_group_name = var.resource_group_name
  container_app_environment_id = var.container_app_environment_id
  revision_mode = "Single"
  template {
    min_replicas = 2
    container {
      name = "checkout"
      image = "ghcr.io/acme/checkout:1.4.2"
      cpu = 0.25
      memory = "0.5Gi"
      dynamic "env" {
        for_each = local.checkout_environment
        content {
          name = env.key
          value = env.value
        }
      }
    }
  }
  ingress {
    external_enabled = true
    target_port = 8080
    traffic_weight {
      latest_revision = true
      percentage = 100
    }
  }
  tags = {
    "idp.multicloud/resource" = "resource:default/checkout"
  }
}

locals {
  checkout_environment = {
    PORT = "8080"
    LOG_LEVEL = "info"
    STRIPE_API_KEY = var.stripe_api_key
    CHECKOUT_DB_HOST = azurerm_mysql_flexible_server.checkout_db.fqdn
    CHECKOUT_DB_PORT = "3306"
    CHECKOUT_DB_PASSWORD = var.checkout_db_password
    CHECKOUT_CACHE_HOST = azurerm_redis_cache.checkout_cache.hostname
    CHECKOUT_CACHE_PORT = azurerm_redis_cache.checkout_cache.ssl_port
    CHECKOUT_CACHE_PASSWORD = var.checkout_cache_password
    CHECKOUT_EVENTS_BOOTSTRAP_SERVERS = "${azurerm_eventhub_namespace.checkout_events.name}.servicebus.windows.net:9093"
  }
}
