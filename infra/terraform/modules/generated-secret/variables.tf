variable "value" {
  description = "The value to use as is; null generates one (once: it is kept in state and never regenerated). Callers validate the form of a given value."
  type        = string
  default     = null
  sensitive   = true
}

variable "length" {
  description = "Length of a generated value, in characters (16 to 4096)."
  type        = number
  default     = 64

  validation {
    condition     = var.length >= 16 && var.length <= 4096 && floor(var.length) == var.length
    error_message = "length must be a whole number from 16 to 4096 (Secrets Manager generates at most 4096 characters)."
  }
}

variable "exclude_punctuation" {
  description = "Generate letters and digits only (for values that go into URLs or have a restricted alphabet)."
  type        = bool
  default     = false
}

variable "exclude_characters" {
  description = "Characters a generated value must not contain (for example \"\\\"'`$\\\\\" for values pasted into shells and .env files); null excludes none."
  type        = string
  default     = null
}
