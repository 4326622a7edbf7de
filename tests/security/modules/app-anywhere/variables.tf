variable "subnet_ids" {
  description = "Subnets the fixture app runs in."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two subnets."
  }
}

variable "label" {
  description = "Any text."
  type        = string
  default     = "app"
}
