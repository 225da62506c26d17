variable "name" {
  description = "Name of the ECR repository (for example \"parley\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be 2-256 lowercase characters: letters and digits separated by single ., _, - or / (ECR's rules)."
  }
}

variable "max_image_count" {
  description = "Images kept in the repository; older ones expire (the lifecycle policy's second rule)."
  type        = number
  default     = 50

  validation {
    condition     = var.max_image_count >= 1 && var.max_image_count <= 10000
    error_message = "max_image_count must be between 1 and 10000."
  }
}

variable "untagged_image_expiry_days" {
  description = "Days after which untagged images (superseded build layers) expire."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && var.untagged_image_expiry_days <= 365
    error_message = "untagged_image_expiry_days must be between 1 and 365."
  }
}

variable "push_principal_arns" {
  description = "IAM principals (for example the CI role) given push and pull through the repository policy. Nodes of the same account pull through their IAM role and need no entry."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.push_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:", a))])
    error_message = "push_principal_arns must be IAM ARNs (arn:aws:iam::123456789012:role/NAME)."
  }
}

variable "force_delete" {
  description = "Let terraform destroy delete the repository even when it holds images."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for image encryption; null creates one (with rotation)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}
