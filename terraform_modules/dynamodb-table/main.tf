locals {
  # Every taggable resource carries the platform's ownership tags.
  tags = merge(var.extra_tags, {
    "idp:team"        = var.idp_team
    "idp:service"     = var.idp_service
    "idp:environment" = var.idp_environment
    "idp:resource"    = var.idp_resource
  })
}

resource "aws_dynamodb_table" "this" {
  name                        = var.table_name
  billing_mode                = var.billing_mode
  hash_key                    = var.hash_key
  range_key                   = var.range_key == "" ? null : var.range_key
  read_capacity               = var.billing_mode == "PROVISIONED" ? var.read_capacity : null
  write_capacity              = var.billing_mode == "PROVISIONED" ? var.write_capacity : null
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = var.hash_key
    type = var.hash_key_type
  }

  dynamic "attribute" {
    for_each = var.range_key == "" ? [] : [var.range_key]
    content {
      name = attribute.value
      type = var.range_key_type
    }
  }

  ttl {
    enabled        = var.ttl_attribute != ""
    attribute_name = var.ttl_attribute
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  # Encrypted at rest with the AWS-owned key at least; always on.
  server_side_encryption {
    enabled = true
  }

  tags = local.tags
}
