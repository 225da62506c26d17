output "replication_group_id" {
  description = "ID of the replication group."
  value       = aws_elasticache_replication_group.this.id
}

output "arn" {
  description = "ARN of the replication group."
  value       = aws_elasticache_replication_group.this.arn
}

output "primary_endpoint_address" {
  description = "DNS name of the primary (read/write) endpoint."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint_address" {
  description = "DNS name of the reader endpoint."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Port Redis listens on."
  value       = var.port
}

output "security_group_id" {
  description = "ID of the cache's security group."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the cache at rest."
  value       = module.kms.key_arn
}

output "auth_token" {
  description = "Redis AUTH token."
  value       = module.auth_token.value
  sensitive   = true
}

output "url" {
  description = "REDIS_URL for the app: rediss://:TOKEN@PRIMARY:PORT/0 (TLS)."
  value       = "rediss://:${urlencode(module.auth_token.value)}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${var.port}/0"
  sensitive   = true
}

output "subnet_ids" {
  description = "Subnets of the cache subnet group (the private subnets it was given)."
  value       = aws_elasticache_subnet_group.this.subnet_ids
}
