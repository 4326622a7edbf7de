variable "name" {
  description = "Name of the VPC, used as a prefix for its subnets and gateways."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.name))
    error_message = "Use 1-40 lowercase letters, digits or hyphens."
  }
}

variable "cidr_block" {
  description = "IPv4 range of the VPC, a /16 to /24 from the private address space."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 24
    error_message = "A CIDR block between /16 and /24, e.g. 10.20.0.0/16."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread the subnets across."
  type        = number
  default     = 2
  validation {
    condition     = var.az_count >= 1 && var.az_count <= 3
    error_message = "Between 1 and 3."
  }
}

variable "enable_nat_gateway" {
  description = "NAT gateway(s) so private subnets can reach the internet (they cost money)."
  type        = bool
  default     = false
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway instead of one per zone (cheaper, less resilient)."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs."
  type        = number
  default     = 30
  validation {
    condition     = contains([7, 14, 30, 60, 90, 180, 365], var.flow_log_retention_days)
    error_message = "One of 7, 14, 30, 60, 90, 180 or 365."
  }
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
