resource "google_redis_instance" "checkout_cache" {
  name = "checkout-cache"
  tier = "BASIC"
  memory_size_gb = 1
  redis_version = "REDIS_7_2"
  region = var.region
  authorized_network = var.network
  auth_enabled = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  labels = {
    idp-multicloud-resource = "checkout-cache"
  }
}

resource "google_sql_database_instance" "checkout_db" {
  name = "checkout-db"
  database_version = "MYSQL_8_4"
  region = var.region
  deletion_protection = true
  settings {
    tier = "db-custom-1-2048"
    disk_size = 50
    availability_type = "ZONAL"
    backup_configuration {
      enabled = true
    }
    ip_configuration {
      ipv4_enabled = false
      private_network = var.network
    }
    user_labels = {
      idp-multicloud-resource = "checkout-db"
    }
  }
}

resource "google_sql_database" "checkout_db" {
  name = "checkout_db"
  instance = google_sql_database_instance.checkout_db.name
}

resource "google_sql_user" "checkout_db" {
  name = "app"
  instance = google_sql_database_instance.checkout_db.name
  password = var.checkout_db_password
}

resource "google_managed_kafka_cluster" "checkout_events" {
  cluster_id = "checkout-events"
  location = var.region
  capacity_config {
    vcpu_count = 6
    memory_bytes = 25769803776
  }
  gcp_config {
    access_config {
      network_configs {
        subnet = var.subnetwork
      }
    }
  }
  labels = {
    idp-multicloud-resource = "checkout-events"
  }
}

resource "google_cloud_run_v2_service" "checkout" {
  name = "checkout"
  location = var.region
  template {
    scaling {
      min_instance_count = 2
    }
    containers {
      image = "ghcr.io/acme/checkout:1.4.2"
      ports {
        container_port = 8080
      }
      resources {
        limits = {
          cpu = "0.25"
          memory = "0.5Gi"
        }
      }
      dynamic "env" {
        for_each = local.checkout_environment
        content {
          name = env.key
          value = env.value
        }
      }
    }
  }
}

locals {
  checkout_environment = {
    PORT = "8080"
    LOG_LEVEL = "info"
    STRIPE_API_KEY = var.stripe_api_key
    CHECKOUT_DB_HOST = google_sql_database_instance.checkout_db.private_ip_address
    CHECKOUT_DB_PORT = "3306"
    CHECKOUT_DB_PASSWORD = var.checkout_db_password
    CHECKOUT_CACHE_HOST = google_redis_instance.checkout_cache.host
    CHECKOUT_CACHE_PORT = google_redis_instance.checkout_cache.port
    CHECKOUT_CACHE_PASSWORD = var.checkout_cache_password
    CHECKOUT_EVENTS_BOOTSTRAP_SERVERS = "bootstrap.checkout-events.${var.region}.managedkafka.${var.project}.cloud.goog:9092"
  }
}
