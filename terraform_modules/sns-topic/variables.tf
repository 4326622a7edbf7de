variable "topic_name" {
  description = "Topic name: 1-256 letters, digits, hyphens or underscores (.fifo is added for FIFO topics)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.topic_name))
    error_message = "Use 1-256 letters, digits, hyphens or underscores."
  }
}

variable "fifo" {
  description = "A FIFO topic (ordered, deduplicated delivery to FIFO queues)."
  type        = bool
  default     = false
}

variable "email_subscriptions" {
  description = "Email addresses to subscribe (each must confirm by email)."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.email_subscriptions) <= 10
    error_message = "At most 10 email subscriptions."
  }
}

variable "kms_master_key_id" {
  description = "KMS key id or alias used to encrypt messages at rest."
  type        = string
  default     = "alias/aws/sns"
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
