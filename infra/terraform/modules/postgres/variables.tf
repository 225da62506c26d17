variable "name" {
  description = "DB instance identifier; also prefixes the subnet group, parameter group and security group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name)) && !endswith(var.name, "-") && !strcontains(var.name, "--")
    error_message = "name must be 1-63 lowercase letters, digits and hyphens, start with a letter, and hold no trailing or double hyphen (RDS's rules)."
  }
}

variable "vpc_id" {
  description = "ID of the VPC for the security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnet IDs, in at least two availability zones, for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two private subnets (RDS needs two availability zones)."
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
  description = "PostgreSQL version: a major (\"16\", the newest minor is chosen and kept up to date) or major.minor."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[3-9](\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 13 or later, as \"16\" or \"16.4\"."
  }
}

variable "instance_class" {
  description = "RDS instance class (Performance Insights needs db.t4g.medium or larger)."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must be an RDS instance class such as \"db.t4g.medium\" or \"db.m7g.large\"."
  }
}

variable "db_name" {
  description = "Name of the database created in the instance."
  type        = string
  default     = "parley"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be 1-63 letters, digits or underscores, starting with a letter."
  }
}

variable "username" {
  description = "Master user name."
  type        = string
  default     = "parley"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.username)) && !contains(["postgres", "rdsadmin", "admin"], lower(var.username))
    error_message = "username must be 1-63 letters, digits or underscores starting with a letter, and not a reserved name (postgres, rdsadmin, admin)."
  }
}

variable "password" {
  description = "Master password (8-128 printable characters, none of \" / @ or space). null generates a 40-character one, kept in state."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.password == null || can(regex("^[^\"/@ ]{8,128}$", var.password))
    error_message = "password must be 8-128 printable characters without \", /, @ or spaces."
  }
}

variable "port" {
  description = "TCP port Postgres listens on."
  type        = number
  default     = 5432

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535 (RDS's range)."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Ceiling in GiB for storage autoscaling (0 disables autoscaling)."
  type        = number
  default     = 100

  validation {
    condition     = var.max_allocated_storage == 0 || (var.max_allocated_storage >= 20 && var.max_allocated_storage <= 65536)
    error_message = "max_allocated_storage must be 0 (no autoscaling) or between 20 and 65536 GiB."
  }
}

variable "multi_az" {
  description = "Keep a synchronous standby in another availability zone, with automatic failover."
  type        = bool
  default     = true
}

variable "backup_retention_period" {
  description = "Days automated backups are kept (1-35)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 1 and 35 days (0 would disable backups)."
  }
}

variable "backup_window" {
  description = "Daily UTC window for automated backups (hh24:mi-hh24:mi)."
  type        = string
  default     = "03:00-04:00"
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window (ddd:hh24:mi-ddd:hh24:mi); must not overlap backup_window."
  type        = string
  default     = "sun:05:00-sun:06:00"
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until this is turned off."
  type        = bool
  default     = true
}

variable "iam_database_authentication_enabled" {
  description = "Allow IAM database authentication (tokens instead of passwords) besides the master password."
  type        = bool
  default     = true
}

variable "performance_insights_enabled" {
  description = "Turn on Performance Insights, encrypted with the module's KMS key."
  type        = bool
  default     = true
}

variable "performance_insights_retention_period" {
  description = "Days Performance Insights data is kept: 7 (free tier), a multiple of 31 up to 713, or 731."
  type        = number
  default     = 7

  validation {
    condition     = var.performance_insights_retention_period == 7 || var.performance_insights_retention_period == 731 || (var.performance_insights_retention_period % 31 == 0 && var.performance_insights_retention_period >= 31 && var.performance_insights_retention_period <= 713)
    error_message = "performance_insights_retention_period must be 7, 731, or a multiple of 31 from 31 to 713."
  }
}

variable "monitoring_interval" {
  description = "Seconds between Enhanced Monitoring samples (0 disables it and its IAM role)."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "enabled_cloudwatch_logs_exports" {
  description = "Postgres logs exported to CloudWatch Logs (postgresql, upgrade)."
  type        = list(string)
  default     = ["postgresql", "upgrade"]

  validation {
    condition     = alltrue([for l in var.enabled_cloudwatch_logs_exports : contains(["postgresql", "upgrade", "iam-db-auth-error"], l)])
    error_message = "enabled_cloudwatch_logs_exports may only hold postgresql, upgrade and iam-db-auth-error."
  }
}

variable "log_min_duration_statement" {
  description = "Statements running at least this many milliseconds are logged (-1 disables)."
  type        = number
  default     = 1000

  validation {
    condition     = var.log_min_duration_statement >= -1
    error_message = "log_min_duration_statement must be -1 (off) or a duration in milliseconds."
  }
}

variable "ca_cert_identifier" {
  description = "RDS certificate authority for the server certificate."
  type        = string
  default     = "rds-ca-rsa2048-g1"
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for storage and Performance Insights; null creates one (with rotation)."
  type        = string
  default     = null
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
