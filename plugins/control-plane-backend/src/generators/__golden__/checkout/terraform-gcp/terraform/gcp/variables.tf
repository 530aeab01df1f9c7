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

variable "network" {
  type = string
  description = "the self link of the VPC network private services attach to"
}

variable "project" {
  type = string
  description = "the Google Cloud project"
}

variable "region" {
  type = string
  description = "the Google Cloud region"
  default = "us-central1"
}

variable "stripe_api_key" {
  type = string
  description = "secret stripe, key api-key"
  sensitive = true
}

variable "subnetwork" {
  type = string
  description = "the subnetwork (projects/<p>/regions/<r>/subnetworks/<s>) Kafka clients reach"
}
