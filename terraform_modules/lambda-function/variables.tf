variable "function_name" {
  description = "Function name: 1-64 letters, digits, hyphens or underscores."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "Use 1-64 letters, digits, hyphens or underscores."
  }
}

variable "runtime" {
  description = "Lambda runtime of the code package."
  type        = string
  default     = "python3.12"
  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13", "nodejs20.x", "nodejs22.x", "java21", "provided.al2023"], var.runtime)
    error_message = "Choose a supported runtime."
  }
}

variable "handler" {
  description = "Entry point, e.g. app.handler for Python."
  type        = string
  default     = "app.handler"
  validation {
    condition     = length(var.handler) >= 1 && length(var.handler) <= 128
    error_message = "Between 1 and 128 characters."
  }
}

variable "package_s3_bucket" {
  description = "S3 bucket holding the deployment package (a zip built by the service's pipeline)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.package_s3_bucket))
    error_message = "Give an S3 bucket name."
  }
}

variable "package_s3_key" {
  description = "Key of the deployment package zip in that bucket."
  type        = string
  validation {
    condition     = length(var.package_s3_key) >= 1 && length(var.package_s3_key) <= 1024
    error_message = "Between 1 and 1024 characters."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 256
  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "Between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Maximum run time of one invocation, in seconds."
  type        = number
  default     = 30
  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "Between 1 and 900 seconds."
  }
}

variable "environment_variables" {
  description = "Environment variables for the function (no secrets: use Secrets Manager)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Days to keep the function's CloudWatch logs."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 180, 365], var.log_retention_days)
    error_message = "One of 1, 3, 5, 7, 14, 30, 60, 90, 180 or 365."
  }
}

variable "expected_invocations_millions" {
  description = "Expected invocations per month, in millions; used only for the cost estimate."
  type        = number
  default     = 1
  validation {
    condition     = var.expected_invocations_millions >= 0
    error_message = "Must not be negative."
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
