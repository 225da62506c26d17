variable "name" {
  description = "Name of the EKS cluster; also the prefix of the IAM roles, launch template and log group."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,38}$", var.name))
    error_message = "name must be 2-39 characters of letters, digits and hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane (\"1.32\"); nodes follow it."
  type        = string
  default     = "1.32"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version such as \"1.32\"."
  }
}

variable "subnet_ids" {
  description = "Private subnet IDs (in at least two availability zones) for the control-plane ENIs and the nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets, in different availability zones (EKS requires two)."
  }
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API on a public endpoint as well as the private one. Off by default: reach the API from inside the VPC (VPN, bastion, CI runner in the VPC)."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint when endpoint_public_access is true. 0.0.0.0/0 is refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "endpoint_public_access_cidrs must be valid IPv4 CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "service_ipv4_cidr" {
  description = "CIDR block Kubernetes service IPs come from; null lets EKS choose (10.100.0.0/16 or 172.20.0.0/16)."
  type        = string
  default     = null

  validation {
    condition     = var.service_ipv4_cidr == null || can(cidrhost(var.service_ipv4_cidr, 0))
    error_message = "service_ipv4_cidr must be a valid IPv4 CIDR block."
  }
}

variable "authentication_mode" {
  description = "How the cluster maps IAM principals to Kubernetes: API (access entries) or API_AND_CONFIG_MAP (access entries and aws-auth)."
  type        = string
  default     = "API"

  validation {
    condition     = contains(["API", "API_AND_CONFIG_MAP"], var.authentication_mode)
    error_message = "authentication_mode must be API or API_AND_CONFIG_MAP."
  }
}

variable "enable_cluster_creator_admin_permissions" {
  description = "Give the IAM principal that creates the cluster cluster-admin through an access entry."
  type        = bool
  default     = true
}

variable "admin_principal_arns" {
  description = "IAM role/user ARNs given cluster-admin through access entries (for example the CI role that runs helm upgrade)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", a))])
    error_message = "admin_principal_arns must be IAM role or user ARNs (arn:aws:iam::123456789012:role/NAME)."
  }
}

variable "cluster_enabled_log_types" {
  description = "Control-plane log types sent to CloudWatch Logs (any of api, audit, authenticator, controllerManager, scheduler)."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  validation {
    condition     = alltrue([for t in var.cluster_enabled_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "cluster_enabled_log_types may only hold api, audit, authenticator, controllerManager and scheduler."
  }
}

variable "cluster_log_retention_in_days" {
  description = "Days CloudWatch Logs keeps the control-plane logs (a value CloudWatch accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cluster_log_retention_in_days)
    error_message = "cluster_log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for secrets encryption and the log group; null creates one (with rotation)."
  type        = string
  default     = null
}

variable "enable_irsa" {
  description = "Create the IAM OIDC provider so Kubernetes service accounts can assume IAM roles (IRSA)."
  type        = bool
  default     = true
}

variable "cluster_addons" {
  description = "EKS add-ons to manage, by name; addon_version null takes the default version for the cluster."
  type = map(object({
    addon_version = optional(string)
  }))
  default = {
    coredns                = {}
    kube-proxy             = {}
    vpc-cni                = {}
    eks-pod-identity-agent = {}
  }
}

variable "node_group_name" {
  description = "Name of the managed node group."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$", var.node_group_name))
    error_message = "node_group_name must be 1-63 letters, digits, hyphens or underscores, starting with a letter or digit."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group (several only make sense with SPOT)."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.node_instance_types) > 0 && alltrue([for t in var.node_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "node_instance_types must list EC2 instance types such as \"m6i.large\"."
  }
}

variable "node_ami_type" {
  description = "AMI type of the nodes: an Amazon Linux 2023 variant (the launch template sizes /dev/xvda, AL2023's root volume)."
  type        = string
  default     = "AL2023_x86_64_STANDARD"

  validation {
    condition     = can(regex("^AL2023_", var.node_ami_type))
    error_message = "node_ami_type must be an AL2023_* AMI type (for example AL2023_x86_64_STANDARD or AL2023_ARM_64_STANDARD)."
  }
}

variable "node_capacity_type" {
  description = "ON_DEMAND or SPOT capacity for the node group."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 2

  validation {
    condition     = var.node_min_size >= 0 && var.node_min_size <= 100 && floor(var.node_min_size) == var.node_min_size
    error_message = "node_min_size must be a whole number from 0 to 100."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
  default     = 6

  validation {
    condition     = var.node_max_size >= 1 && var.node_max_size <= 100 && floor(var.node_max_size) == var.node_max_size
    error_message = "node_max_size must be a whole number from 1 to 100."
  }
}

variable "node_desired_size" {
  description = "Number of nodes at creation (later owned by the autoscaler: changes are ignored)."
  type        = number
  default     = 2

  validation {
    condition     = var.node_desired_size >= 0 && var.node_desired_size <= 100 && floor(var.node_desired_size) == var.node_desired_size
    error_message = "node_desired_size must be a whole number from 0 to 100."
  }
}

variable "node_disk_size" {
  description = "Size in GiB of each node's encrypted gp3 root volume."
  type        = number
  default     = 50

  validation {
    condition     = var.node_disk_size >= 20 && var.node_disk_size <= 16384
    error_message = "node_disk_size must be between 20 and 16384 GiB."
  }
}

variable "node_metadata_hop_limit" {
  description = "IMDSv2 response hop limit on the nodes: 1 keeps pods (not on the host network) away from the node's IAM credentials; use IRSA for pod permissions."
  type        = number
  default     = 1

  validation {
    condition     = var.node_metadata_hop_limit >= 1 && var.node_metadata_hop_limit <= 64
    error_message = "node_metadata_hop_limit must be between 1 and 64."
  }
}

variable "node_enable_ssm" {
  description = "Attach AmazonSSMManagedInstanceCore to the node role so nodes can be reached with SSM Session Manager instead of SSH."
  type        = bool
  default     = true
}

variable "node_labels" {
  description = "Kubernetes labels on the nodes of the group."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}
