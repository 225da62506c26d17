output "secret_arns" {
  description = "ARNs of the secrets, by environment variable name (SECRET_KEY, DATABASE_URL, REDIS_URL)."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}

output "secret_names" {
  description = "Names of the secrets, by environment variable name (for aws secretsmanager get-secret-value --secret-id)."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.name }
}

output "read_policy_arn" {
  description = "ARN of the IAM policy that reads these secrets (null when create_read_policy is false)."
  value       = try(aws_iam_policy.read[0].arn, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the secrets."
  value       = module.kms.key_arn
}
