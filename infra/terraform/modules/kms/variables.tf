variable "create" {
  description = "Whether to create a key when key_arn is null (false where the caller needs no key at all: then nothing is created and the outputs are null)."
  type        = bool
  default     = true
}

variable "key_arn" {
  description = "ARN of an existing key (or alias) to use instead of creating one: then nothing is created and the key_arn output is this ARN. null creates a key (when create is true)."
  type        = string
  default     = null

  validation {
    condition     = var.key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$", var.key_arn))
    error_message = "key_arn must be null or a KMS key or alias ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID or .../alias/NAME)."
  }
}

variable "description" {
  description = "Description of the key: what it encrypts (for example \"parley ECR images\")."
  type        = string

  validation {
    condition     = length(trimspace(var.description)) > 0 && length(var.description) <= 8192
    error_message = "description must be a non-empty string of at most 8192 characters."
  }
}

variable "alias_name" {
  description = "Alias of the key, starting with \"alias/\" (for example \"alias/eks/parley\"); null creates no alias."
  type        = string
  default     = null

  validation {
    condition     = var.alias_name == null || can(regex("^alias/[a-zA-Z0-9/_-]+$", var.alias_name)) && !startswith(coalesce(var.alias_name, "alias/"), "alias/aws/")
    error_message = "alias_name must be null or \"alias/\" followed by letters, digits, \"/\", \"_\" or \"-\", and must not start with the reserved \"alias/aws/\"."
  }
}

variable "cloudwatch_logs_log_group_names" {
  description = "CloudWatch Logs log groups (names, in this account and region) the key policy lets the CloudWatch Logs service use the key for; empty adds no CloudWatch Logs statement."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.cloudwatch_logs_log_group_names : can(regex("^[\\w./#-]{1,512}$", name))])
    error_message = "Each log group name must be 1-512 characters of letters, digits, \"_\", \"-\", \"/\", \".\" and \"#\"."
  }
}

variable "deletion_window_in_days" {
  description = "Days a deleted key waits before AWS destroys it (7 to 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for the key."
  type        = map(string)
  default     = {}
}
