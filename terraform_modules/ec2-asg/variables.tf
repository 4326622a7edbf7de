variable "group_name" {
  description = "Name of the group and its parts: a lowercase letter, then lowercase letters, digits or hyphens (at most 40)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.group_name))
    error_message = "Start with a lowercase letter; then lowercase letters, digits or hyphens; at most 40."
  }
}

variable "ami_id" {
  description = "AMI of the instances; empty picks the latest Amazon Linux 2023 (SSM agent included)."
  type        = string
  default     = ""
  validation {
    condition     = var.ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "An AMI id like ami-0abc12345678def90, or empty."
  }
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.small"
  validation {
    condition     = contains(["t3.micro", "t3.small", "t3.medium", "t3.large", "m7i.large", "m7i.xlarge", "c7i.large", "c7i.xlarge"], var.instance_type)
    error_message = "Choose one of the offered instance types."
  }
}

variable "vpc_id" {
  description = "VPC of the instances."
  type        = string
  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "A VPC id like vpc-0abc123."
  }
}

variable "subnet_ids" {
  description = "Private subnets in at least two availability zones; instances are spread across them."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two subnets, in different availability zones."
  }
}

variable "min_size" {
  description = "Fewest instances."
  type        = number
  default     = 2
  validation {
    condition     = var.min_size >= 0 && var.min_size <= 50
    error_message = "Between 0 and 50."
  }
  validation {
    condition     = floor(var.min_size) == var.min_size
    error_message = "A whole number."
  }
}

variable "desired_capacity" {
  description = "Instances to start with (the CPU target moves it between min and max)."
  type        = number
  default     = 2
  validation {
    condition     = var.desired_capacity >= 0 && var.desired_capacity <= 100
    error_message = "Between 0 and 100."
  }
  validation {
    condition     = floor(var.desired_capacity) == var.desired_capacity
    error_message = "A whole number."
  }
}

variable "max_size" {
  description = "Most instances."
  type        = number
  default     = 4
  validation {
    condition     = var.max_size >= 1 && var.max_size <= 100
    error_message = "Between 1 and 100."
  }
  validation {
    condition     = floor(var.max_size) == var.max_size
    error_message = "A whole number."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU the group scales to hold (target tracking)."
  type        = number
  default     = 60
  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "Between 10 and 90."
  }
}

variable "target_group_arns" {
  description = "Load balancer target groups to register the instances with (then their health check decides)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.target_group_arns : can(regex("^arn:aws[a-z-]*:elasticloadbalancing:", arn))])
    error_message = "Give target group ARNs."
  }
}

variable "app_port" {
  description = "TCP port the application listens on (opened only to the allowed security groups)."
  type        = number
  default     = 8000
  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535
    error_message = "Between 1024 and 65535 (no privileged ports)."
  }
  validation {
    condition     = floor(var.app_port) == var.app_port
    error_message = "A whole number."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (e.g. the load balancer's) that may reach app_port."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for id in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "Give security group ids like sg-0abc123."
  }
}

variable "health_check_grace_period" {
  description = "Seconds a new instance has to boot before its health checks count."
  type        = number
  default     = 300
  validation {
    condition     = var.health_check_grace_period >= 0 && var.health_check_grace_period <= 3600
    error_message = "Between 0 and 3600 seconds."
  }
  validation {
    condition     = floor(var.health_check_grace_period) == var.health_check_grace_period
    error_message = "A whole number."
  }
}

variable "refresh_min_healthy_percentage" {
  description = "During an instance refresh, the share of capacity that must stay healthy."
  type        = number
  default     = 90
  validation {
    condition     = var.refresh_min_healthy_percentage >= 0 && var.refresh_min_healthy_percentage <= 100
    error_message = "Between 0 and 100."
  }
}

variable "root_volume_gb" {
  description = "Root volume of each instance, in GB (encrypted gp3)."
  type        = number
  default     = 20
  validation {
    condition     = var.root_volume_gb >= 8 && var.root_volume_gb <= 500
    error_message = "Between 8 and 500 GB."
  }
  validation {
    condition     = floor(var.root_volume_gb) == var.root_volume_gb
    error_message = "A whole number."
  }
}

variable "user_data" {
  description = "Boot script (cloud-init). No secrets: read them from Parameter Store or Secrets Manager at boot."
  type        = string
  default     = ""
  validation {
    condition     = length(var.user_data) <= 16000
    error_message = "At most 16000 characters."
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
