variable "name_prefix" {
  description = "Path prefix of the secret names: the secrets are PREFIX/SECRET_KEY, PREFIX/DATABASE_URL and PREFIX/REDIS_URL."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_+=.@-]+(/[a-zA-Z0-9_+=.@-]+)*$", var.name_prefix)) && length(var.name_prefix) <= 400
    error_message = "name_prefix must be up to 400 characters of letters, digits and _+=.@-, in /-separated segments with no leading, trailing or double slash."
  }
}

variable "secret_key" {
  description = "Django SECRET_KEY. null generates a 64-character one, kept in state and never regenerated."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.secret_key == null || try(length(var.secret_key) >= 50, false)
    error_message = "secret_key must be at least 50 characters (Django's own check, security.W009)."
  }
}

variable "database_url" {
  description = "DATABASE_URL: postgres://USER:PASSWORD@HOST:PORT/DB (the postgres module's url output)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^postgres(ql)?://", var.database_url))
    error_message = "database_url must be a postgres:// or postgresql:// URL."
  }
}

variable "redis_url" {
  description = "REDIS_URL: rediss://:TOKEN@HOST:6379/0 (the redis module's url output). Only TLS (rediss://) is accepted."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^rediss://", var.redis_url))
    error_message = "redis_url must be a rediss:// URL: ElastiCache here always requires TLS."
  }
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored: 0 (delete at once) or 7-30."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30)
    error_message = "recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "create_read_policy" {
  description = "Create an IAM policy that reads exactly these secrets (attach it to the External Secrets Operator's IRSA role or a deploy role)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for the secrets; null creates one (with rotation)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}
