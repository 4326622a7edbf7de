variable "repository_name" {
  description = "Repository name: lowercase letters, digits and . _ - / separators."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._/-][a-z0-9]+)*$", var.repository_name)) && length(var.repository_name) <= 256
    error_message = "Use lowercase letters and digits separated by . _ - or /, at most 256 characters."
  }
}

variable "image_tag_mutability" {
  description = "IMMUTABLE refuses to overwrite an existing tag; MUTABLE allows it."
  type        = string
  default     = "IMMUTABLE"
  validation {
    condition     = contains(["IMMUTABLE", "MUTABLE"], var.image_tag_mutability)
    error_message = "IMMUTABLE or MUTABLE."
  }
}

variable "scan_on_push" {
  description = "Scan every pushed image for known vulnerabilities."
  type        = bool
  default     = true
}

variable "keep_last_images" {
  description = "How many tagged images to keep; older ones are expired."
  type        = number
  default     = 30
  validation {
    condition     = var.keep_last_images >= 1 && var.keep_last_images <= 1000
    error_message = "Between 1 and 1000."
  }
}

variable "expected_storage_gb" {
  description = "Expected image storage in GB; used only for the cost estimate."
  type        = number
  default     = 5
  validation {
    condition     = var.expected_storage_gb >= 0
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
