resource "aws_elasticache_replication_group" "checkout_cache" {
  replication_group_id = "checkout-cache"
  description = "resource:default/checkout-cache (tier medium)"
  engine = "redis"
  engine_version = "7.4"
  node_type = "cache.t4g.small"
  num_cache_clusters = 2
  automatic_failover_enabled = false
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token = var.checkout_cache_password
  security_group_ids = var.security_group_ids
  tags = {
    "idp.multicloud/resource" = "resource:default/checkout-cache"
  }
}

resource "aws_db_instance" "checkout_db" {
  identifier = "checkout-db"
  engine = "mysql"
  engine_version = "8.4"
  instance_class = "db.t4g.medium"
  allocated_storage = 50
  db_name = "checkout_db"
  username = "app"
  password = var.checkout_db_password
  multi_az = false
  storage_encrypted = true
  backup_retention_period = 7
  vpc_security_group_ids = var.security_group_ids
  skip_final_snapshot = false
  final_snapshot_identifier = "checkout-db-final"
  tags = {
    "idp.multicloud/resource" = "resource:default/checkout-db"
  }
}

resource "aws_msk_cluster" "checkout_events" {
  cluster_name = "checkout-events"
  kafka_version = "3.8.x"
  number_of_broker_nodes = 3
  broker_node_group_info {
    instance_type = "kafka.m5.large"
    client_subnets = var.subnet_ids
    security_groups = var.security_group_ids
    storage_info {
      ebs_storage_info {
        volume_size = 100
      }
    }
  }
  encryption_info {
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster = true
    }
  }
  tags = {
    "idp.multicloud/resource" = "resource:default/checkout-events"
  }
}

resource "aws_ecs_task_definition" "checkout" {
  family = "checkout"
  requires_compatibilities = ["FARGATE"]
  network_mode = "awsvpc"
  cpu = "256"
  memory = "512"
  container_definitions = jsonencode([{
    name = "checkout"
    image = "ghcr.io/acme/checkout:1.4.2"
    essential = true
    portMappings = [{
      containerPort = 8080
      protocol = "tcp"
    }]
    environment = [for k, v in local.checkout_environment : { name = k, value = tostring(v) }]
  }])
}

locals {
  checkout_environment = {
    PORT = "8080"
    LOG_LEVEL = "info"
    STRIPE_API_KEY = var.stripe_api_key
    CHECKOUT_DB_HOST = aws_db_instance.checkout_db.address
    CHECKOUT_DB_PORT = aws_db_instance.checkout_db.port
    CHECKOUT_DB_PASSWORD = var.checkout_db_password
    CHECKOUT_CACHE_HOST = aws_elasticache_replication_group.checkout_cache.primary_endpoint_address
    CHECKOUT_CACHE_PORT = aws_elasticache_replication_group.checkout_cache.port
    CHECKOUT_CACHE_PASSWORD = var.checkout_cache_password
    CHECKOUT_EVENTS_BOOTSTRAP_SERVERS = aws_msk_cluster.checkout_events.bootstrap_brokers_tls
  }
}

resource "aws_ecs_service" "checkout" {
  name = "checkout"
  cluster = var.ecs_cluster_arn
  task_definition = aws_ecs_task_definition.checkout.arn
  desired_count = 2
  launch_type = "FARGATE"
  network_configuration {
    subnets = var.subnet_ids
    security_groups = var.security_group_ids
  }
}
