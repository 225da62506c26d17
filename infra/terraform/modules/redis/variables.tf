variable "name" {
  description = "Replication group ID; also names the subnet group and prefixes the security group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name)) && !endswith(var.name, "-") && !strcontains(var.name, "--")
    error_message = "name must be 1-40 lowercase letters, digits and hyphens, start with a letter, and hold no trailing or double hyphen (ElastiCache's rules)."
  }
}

variable "vpc_id" {
  description = "ID of the VPC for the security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnet IDs, in at least two availability zones, for the cache subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two private subnets (in different availability zones)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect, keyed by a label used in rule descriptions (for example { eks_nodes = module.eks.cluster_security_group_id }). Nothing else is admitted."
  type        = map(string)

  validation {
    condition     = length(var.allowed_security_group_ids) > 0 && alltrue([for id in values(var.allowed_security_group_ids) : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "allowed_security_group_ids must map at least one label to a security group ID (sg-...)."
  }
}

variable "engine_version" {
  description = "Redis engine version (major.minor)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^[6-9]\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be a Redis major.minor version of 6.x or later, such as \"7.1\"."
  }
}

variable "parameter_group_name" {
  description = "ElastiCache parameter group; it must match the engine version's family."
  type        = string
  default     = "default.redis7"
}

variable "node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.node_type))
    error_message = "node_type must be an ElastiCache node type such as \"cache.t4g.small\" or \"cache.r7g.large\"."
  }
}

variable "num_cache_clusters" {
  description = "Nodes in the replication group (primary + replicas). 2 or more turns on automatic failover and Multi-AZ."
  type        = number
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6 && floor(var.num_cache_clusters) == var.num_cache_clusters
    error_message = "num_cache_clusters must be a whole number from 1 to 6."
  }
}

variable "port" {
  description = "TCP port Redis listens on."
  type        = number
  default     = 6379

  validation {
    condition     = var.port >= 1024 && var.port <= 65535
    error_message = "port must be between 1024 and 65535."
  }
}

variable "auth_token" {
  description = "Redis AUTH token (16-128 printable characters, none of \" / @ or space). null generates a 64-character one, kept in state."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.auth_token == null || can(regex("^[^\"/@ ]{16,128}$", var.auth_token))
    error_message = "auth_token must be 16-128 printable characters without \", /, @ or spaces."
  }
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for at-rest encryption; null creates one (with rotation)."
  type        = string
  default     = null
}

variable "snapshot_retention_limit" {
  description = "Days automatic snapshots are kept (0 disables them)."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_limit >= 0 && var.snapshot_retention_limit <= 35
    error_message = "snapshot_retention_limit must be between 0 and 35 days."
  }
}

variable "snapshot_window" {
  description = "Daily UTC window for snapshots (hh24:mi-hh24:mi)."
  type        = string
  default     = "03:00-04:00"
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window (ddd:hh24:mi-ddd:hh24:mi)."
  type        = string
  default     = "sun:05:00-sun:06:00"
}

variable "apply_immediately" {
  description = "Apply changes now instead of in the next maintenance window."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}
