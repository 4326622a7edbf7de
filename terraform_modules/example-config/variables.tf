variable "message" {
  description = "A greeting stored in the configuration."
  type        = string
  default     = "hello"
  validation {
    condition     = can(regex("^[A-Za-z0-9 ,.!?-]{1,100}$", var.message))
    error_message = "1-100 letters, digits, spaces or ,.!?- characters."
  }
}

variable "replicas" {
  description = "How many replicas the configuration describes."
  type        = number
  default     = 1
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 10
    error_message = "Between 1 and 10."
  }
  validation {
    condition     = floor(var.replicas) == var.replicas
    error_message = "A whole number."
  }
}

variable "labels" {
  description = "Free-form labels stored with the configuration."
  type        = map(string)
  default     = {}
  validation {
    condition     = length(var.labels) <= 10
    error_message = "At most 10 labels."
  }
}

variable "secret_token" {
  description = "An optional secret stored with the configuration (never shown in plans or logs)."
  type        = string
  default     = null
  sensitive   = true
  validation {
    condition     = var.secret_token == null || length(var.secret_token) >= 8
    error_message = "At least 8 characters."
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
