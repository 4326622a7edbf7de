variable "role_name" {
  description = "Name of the IAM role the pipeline assumes."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "Use 1-64 letters, digits or +=,.@_- characters."
  }
}

variable "github_owner" {
  description = "GitHub organisation or user that owns the repository."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "A GitHub organisation or user name."
  }
}

variable "github_repository" {
  description = "Repository name (without the owner) whose workflows may assume the role."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,100}$", var.github_repository))
    error_message = "A GitHub repository name."
  }
}

variable "allowed_subjects" {
  description = "OIDC subject suffixes allowed, e.g. ref:refs/heads/main or environment:prod."
  type        = list(string)
  default     = ["ref:refs/heads/main"]
  validation {
    condition     = length(var.allowed_subjects) >= 1 && length(var.allowed_subjects) <= 10
    error_message = "Between 1 and 10 subjects."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (only once per account)."
  type        = bool
  default     = false
}

variable "policy_arns" {
  description = "ARNs of managed policies to attach to the role (keep them narrow)."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.policy_arns) <= 10
    error_message = "At most 10 policies."
  }
}

variable "max_session_duration" {
  description = "Maximum session length in seconds."
  type        = number
  default     = 3600
  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "Between 3600 and 43200 seconds."
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
