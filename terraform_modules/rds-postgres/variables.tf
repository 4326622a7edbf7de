variable "identifier" {
  description = "Database instance identifier: a letter, then letters, digits or hyphens (max 63)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.identifier))
    error_message = "Start with a lowercase letter; then lowercase letters, digits or hyphens; at most 63."
  }
}

variable "database_name" {
  description = "Name of the database created in the instance."
  type        = string
  default     = "app"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "Start with a lowercase letter; then lowercase letters, digits or underscores."
  }
}

variable "engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "16"
  validation {
    condition     = contains(["15", "16", "17"], var.engine_version)
    error_message = "15, 16 or 17."
  }
}

variable "instance_class" {
  description = "Instance size."
  type        = string
  default     = "db.t4g.micro"
  validation {
    condition     = contains(["db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.m7g.large", "db.m7g.xlarge", "db.r7g.large"], var.instance_class)
    error_message = "Choose one of the offered instance classes."
  }
}

variable "allocated_storage_gb" {
  description = "Storage in GB (gp3); it grows automatically up to four times this."
  type        = number
  default     = 20
  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 4000
    error_message = "Between 20 and 4000 GB."
  }
}

variable "multi_az" {
  description = "A standby in a second availability zone with automatic failover."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days of automated backups to keep."
  type        = number
  default     = 7
  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Between 1 and 35 days."
  }
}

variable "subnet_ids" {
  description = "Private subnet ids (at least two availability zones) for the database."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two subnets."
  }
}

variable "vpc_id" {
  description = "VPC the subnets belong to."
  type        = string
  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "A VPC id like vpc-0abc123."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (e.g. your service's) allowed to connect on port 5432."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Refuse to delete the database until this is turned off."
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
