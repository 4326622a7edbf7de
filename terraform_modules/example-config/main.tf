locals {
  # terraform_data takes no tags; the platform labels travel in its input instead.
  tags = {
    "idp:team"        = var.idp_team
    "idp:service"     = var.idp_service
    "idp:environment" = var.idp_environment
    "idp:resource"    = var.idp_resource
  }
}

resource "terraform_data" "config" {
  input = {
    message  = var.message
    replicas = var.replicas
    labels   = var.labels
    tags     = local.tags
  }
}

resource "terraform_data" "secret" {
  input = var.secret_token == null ? "" : sha256(var.secret_token)
}
