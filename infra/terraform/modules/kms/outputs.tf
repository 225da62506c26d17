output "key_arn" {
  description = "ARN of the key to encrypt with: the given key_arn, else the created key's; null when neither (create = false)."
  value       = var.key_arn != null ? var.key_arn : try(aws_kms_key.this[0].arn, null)
}

output "key_id" {
  description = "ID of the created key; null when none is created (key_arn given, or create = false)."
  value       = try(aws_kms_key.this[0].key_id, null)
}

output "alias_name" {
  description = "Name of the alias; null when none is created."
  value       = try(aws_kms_alias.this[0].name, null)
}

output "alias_arn" {
  description = "ARN of the alias; null when none is created."
  value       = try(aws_kms_alias.this[0].arn, null)
}

output "key_rotation_enabled" {
  description = "Whether the key is rotated (always true for a created key); null when none is created (key_arn given, or create = false)."
  value       = try(aws_kms_key.this[0].enable_key_rotation, null)
}
