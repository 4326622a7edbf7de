variable "idp_team" {
  description = "Set by the platform."
  type        = string
}

variable "idp_service" {
  description = "Set by the platform."
  type        = string
  default     = ""
}

variable "idp_environment" {
  description = "Set by the platform."
  type        = string
}

variable "idp_resource" {
  description = "Set by the platform."
  type        = string
}
