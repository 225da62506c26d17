output "key_arn" {
  description = "ARN of the key; null when create = false."
  value       = try(aws_kms_key.this[0].arn, null)
}

output "key_id" {
  description = "ID of the key; null when create = false."
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
  description = "Whether the key is rotated (always true for a created key); null when create = false."
  value       = try(aws_kms_key.this[0].enable_key_rotation, null)
}
