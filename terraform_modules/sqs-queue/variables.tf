variable "queue_name" {
  description = "Queue name: 1-75 letters, digits, hyphens or underscores (.fifo is added for FIFO queues)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,75}$", var.queue_name))
    error_message = "Use 1-75 letters, digits, hyphens or underscores."
  }
}

variable "fifo" {
  description = "A FIFO queue: exactly-once processing, ordered per message group."
  type        = bool
  default     = false
}

variable "visibility_timeout_seconds" {
  description = "How long a received message stays hidden from other consumers."
  type        = number
  default     = 30
  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "Between 0 and 43200 seconds."
  }
}

variable "message_retention_seconds" {
  description = "How long a message is kept before it is dropped."
  type        = number
  default     = 345600
  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "Between 60 seconds and 14 days."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue."
  type        = number
  default     = 5
  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "Between 1 and 1000."
  }
}

variable "expected_requests_millions" {
  description = "Expected requests per month, in millions; used only for the cost estimate."
  type        = number
  default     = 1
  validation {
    condition     = var.expected_requests_millions >= 0
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
