variable "availability_domain" {
  type = string
  description = "the availability domain, e.g. Uocm:US-ASHBURN-AD-1"
}

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

variable "compartment_id" {
  type = string
  description = "the OCID of the compartment the resources are created in"
}

variable "region" {
  type = string
  description = "the OCI region"
  default = "us-ashburn-1"
}

variable "stripe_api_key" {
  type = string
  description = "secret stripe, key api-key"
  sensitive = true
}

variable "subnet_id" {
  type = string
  description = "the OCID of the private subnet the resources are placed in"
}
