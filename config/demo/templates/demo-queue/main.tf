locals {
  # The name a real queue of this team and environment would have: the CloudWatch dimension.
  queue_name = "${var.idp_team}-${var.idp_environment}-${var.idp_resource}"
}

resource "terraform_data" "queue" {
  input = {
    name               = local.queue_name
    visibility_timeout = var.visibility_timeout
    retention_seconds  = var.retention_hours * 3600
    tags = {
      "idp:team"        = var.idp_team
      "idp:service"     = var.idp_service
      "idp:environment" = var.idp_environment
      "idp:resource"    = var.idp_resource
    }
  }
}
