variable "table_name" {
  description = "Table name: 3-255 letters, digits, underscores, dots or hyphens."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "Use 3-255 letters, digits, underscores, dots or hyphens."
  }
}

variable "hash_key" {
  description = "Name of the partition (hash) key attribute."
  type        = string
  default     = "pk"
  validation {
    condition     = length(var.hash_key) >= 1 && length(var.hash_key) <= 255
    error_message = "Between 1 and 255 characters."
  }
}

variable "hash_key_type" {
  description = "Type of the partition key: S (string), N (number) or B (binary)."
  type        = string
  default     = "S"
  validation {
    condition     = contains(["S", "N", "B"], var.hash_key_type)
    error_message = "One of S, N or B."
  }
}

variable "range_key" {
  description = "Name of the sort (range) key attribute; empty for none."
  type        = string
  default     = ""
  validation {
    condition     = length(var.range_key) <= 255
    error_message = "At most 255 characters."
  }
}

variable "range_key_type" {
  description = "Type of the sort key: S, N or B (ignored without a sort key)."
  type        = string
  default     = "S"
  validation {
    condition     = contains(["S", "N", "B"], var.range_key_type)
    error_message = "One of S, N or B."
  }
}

variable "billing_mode" {
  description = "PAY_PER_REQUEST (on demand) or PROVISIONED capacity."
  type        = string
  default     = "PAY_PER_REQUEST"
  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "Read capacity units (PROVISIONED only)."
  type        = number
  default     = 5
  validation {
    condition     = var.read_capacity >= 1 && var.read_capacity <= 40000
    error_message = "Between 1 and 40000."
  }
}

variable "write_capacity" {
  description = "Write capacity units (PROVISIONED only)."
  type        = number
  default     = 5
  validation {
    condition     = var.write_capacity >= 1 && var.write_capacity <= 40000
    error_message = "Between 1 and 40000."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding an expiry epoch time; empty disables TTL."
  type        = string
  default     = ""
}

variable "point_in_time_recovery" {
  description = "Continuous backups for restoring the table to any second in the last 35 days."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the table until this is turned off."
  type        = bool
  default     = true
}

variable "extra_tags" {
  description = "Additional tags to put on every resource (the idp:* tags are always added)."
  type        = map(string)
  default     = {}
  validation {
    condition     = length(var.extra_tags) <= 20
    error_message = "At most 20 extra tags."
  }
}

# --- Set by the platform (never part of the request form) ---------------------

variable "idp_team" {
  description = "Slug of the team that owns the resource (set by the platform)."
  type        = string
}

variable "idp_service" {
  description = "Slug of the service the resource belongs to, or empty (set by the platform)."
  type        = string
  default     = ""
}

variable "idp_environment" {
  description = "Slug of the environment the resource lives in (set by the platform)."
  type        = string
}

variable "idp_resource" {
  description = "Name of the resource in the platform (set by the platform)."
  type        = string
}
