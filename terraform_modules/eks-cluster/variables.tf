variable "cluster_name" {
  description = "Cluster name: a lowercase letter, then lowercase letters, digits or hyphens (at most 40)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.cluster_name))
    error_message = "Start with a lowercase letter; then lowercase letters, digits or hyphens; at most 40."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the node group."
  type        = string
  default     = "1.33"
  validation {
    condition     = contains(["1.31", "1.32", "1.33"], var.kubernetes_version)
    error_message = "1.31, 1.32 or 1.33."
  }
}

variable "subnet_ids" {
  description = "Private subnets in at least two availability zones (the vpc template's private_subnet_ids)."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two subnets, in different availability zones."
  }
}

variable "public_endpoint" {
  description = "Also expose the Kubernetes API endpoint on the internet (to the CIDRs below). Off: reachable only from inside the VPC."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "IPv4 ranges allowed to reach a public API endpoint (only used when public_endpoint is on)."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.public_access_cidrs) <= 40
    error_message = "At most 40 ranges."
  }
  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "Give IPv4 ranges such as 203.0.113.0/24; 0.0.0.0/0 is not allowed."
  }
}

variable "node_instance_type" {
  description = "EC2 instance type of the managed node group."
  type        = string
  default     = "m7i.large"
  validation {
    condition     = contains(["t3.large", "t3.xlarge", "m7i.large", "m7i.xlarge", "m7i.2xlarge", "c7i.large", "c7i.xlarge", "r7i.large", "r7i.xlarge"], var.node_instance_type)
    error_message = "Choose one of the offered instance types."
  }
}

variable "capacity_type" {
  description = "ON_DEMAND, or SPOT for interruptible nodes at a lower price."
  type        = string
  default     = "ON_DEMAND"
  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.capacity_type)
    error_message = "ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Fewest nodes the group scales in to."
  type        = number
  default     = 2
  validation {
    condition     = var.node_min_size >= 1 && var.node_min_size <= 50
    error_message = "Between 1 and 50."
  }
  validation {
    condition     = floor(var.node_min_size) == var.node_min_size
    error_message = "A whole number."
  }
}

variable "node_desired_size" {
  description = "Nodes to start with (the cluster autoscaler moves it between min and max)."
  type        = number
  default     = 3
  validation {
    condition     = var.node_desired_size >= 1 && var.node_desired_size <= 100
    error_message = "Between 1 and 100."
  }
  validation {
    condition     = floor(var.node_desired_size) == var.node_desired_size
    error_message = "A whole number."
  }
}

variable "node_max_size" {
  description = "Most nodes the group scales out to."
  type        = number
  default     = 6
  validation {
    condition     = var.node_max_size >= 1 && var.node_max_size <= 100
    error_message = "Between 1 and 100."
  }
  validation {
    condition     = floor(var.node_max_size) == var.node_max_size
    error_message = "A whole number."
  }
}

variable "node_disk_size_gb" {
  description = "Root volume of each node, in GB (encrypted gp3)."
  type        = number
  default     = 50
  validation {
    condition     = var.node_disk_size_gb >= 20 && var.node_disk_size_gb <= 1000
    error_message = "Between 20 and 1000 GB."
  }
  validation {
    condition     = floor(var.node_disk_size_gb) == var.node_disk_size_gb
    error_message = "A whole number."
  }
}

variable "addons" {
  description = "EKS managed add-ons to install (vpc-cni, coredns, kube-proxy, eks-pod-identity-agent, aws-ebs-csi-driver)."
  type        = list(string)
  default     = ["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"]
  validation {
    condition     = alltrue([for addon in var.addons : contains(["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"], addon)])
    error_message = "Only vpc-cni, coredns, kube-proxy, eks-pod-identity-agent and aws-ebs-csi-driver are offered."
  }
}

variable "admin_role_arns" {
  description = "IAM roles (e.g. your SSO administrator role) given cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "Give IAM role ARNs such as arn:aws:iam::123456789012:role/Admin."
  }
}

variable "log_retention_days" {
  description = "Days to keep the control plane's CloudWatch logs."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 180, 365], var.log_retention_days)
    error_message = "One of 1, 3, 5, 7, 14, 30, 60, 90, 180 or 365."
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
