variable "checkout_cache_password" {
  type = string
  description = "password of resource:default/checkout-cache (set it in a .tfvars file kept out of Git, or TF_VAR_checkout_cache_password)"
  sensitive = true
}

variable "checkout_db_password" {
  type = string
  description = "password of resource:default/checkout-db (set it in a .tfvars file kept out of Git, or TF_VAR_checkout_db_password)"
  sensitive = true
}

variable "ecs_cluster_arn" {
  type = string
  description = "the ECS cluster the services run on"
}

variable "region" {
  type = string
  description = "the AWS region"
  default = "us-east-1"
}

variable "security_group_ids" {
  type = list(string)
  description = "the security groups of the resources"
}

variable "stripe_api_key" {
  type = string
  description = "secret stripe, key api-key"
  sensitive = true
}

variable "subnet_ids" {
  type = list(string)
  description = "the private subnets the resources are placed in"
}
