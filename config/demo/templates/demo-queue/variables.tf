variable "visibility_timeout" {
  description = "Seconds a received message stays hidden from other consumers."
  type        = number
  default     = 30
  validation {
    condition     = var.visibility_timeout >= 0 && var.visibility_timeout <= 43200
    error_message = "Between 0 and 43200 seconds."
  }
}

variable "retention_hours" {
  description = "Hours a message is kept before it is dropped."
  type        = number
  default     = 96
  validation {
    condition     = var.retention_hours >= 1 && var.retention_hours <= 336
    error_message = "Between 1 and 336 hours."
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
