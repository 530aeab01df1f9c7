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

variable "container_app_environment_id" {
  type = string
  description = "the Container Apps environment the services run in"
}

variable "location" {
  type = string
  description = "the Azure region"
  default = "eastus"
}

variable "resource_group_name" {
  type = string
  description = "the resource group the resources are created in"
}

variable "stripe_api_key" {
  type = string
  description = "secret stripe, key api-key"
  sensitive = true
}
