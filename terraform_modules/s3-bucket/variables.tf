variable "bucket_name" {
  description = "Globally unique bucket name: 3-63 lowercase letters, digits, dots or hyphens."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "Use 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit."
  }
}

variable "versioning_enabled" {
  description = "Keep every version of every object, so overwrites and deletes can be undone."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of a KMS key for SSE-KMS encryption; empty uses SSE-S3 (AES-256)."
  type        = string
  default     = ""
  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "Give a KMS key ARN or leave it empty."
  }
}

variable "transition_to_ia_days" {
  description = "Days after which objects move to Standard-IA storage (0 keeps them in Standard)."
  type        = number
  default     = 30
  validation {
    condition     = var.transition_to_ia_days >= 0 && var.transition_to_ia_days <= 3650
    error_message = "Between 0 and 3650 days."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which old object versions are deleted."
  type        = number
  default     = 90
  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650
    error_message = "Between 1 and 3650 days."
  }
}

variable "expected_storage_gb" {
  description = "Expected stored data in GB; used only for the cost estimate."
  type        = number
  default     = 10
  validation {
    condition     = var.expected_storage_gb >= 0 && var.expected_storage_gb <= 1000000
    error_message = "Between 0 and 1000000 GB."
  }
}

variable "force_destroy" {
  description = "Allow destroying the bucket while it still holds objects (data is lost)."
  type        = bool
  default     = false
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
