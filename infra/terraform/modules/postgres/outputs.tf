output "db_instance_identifier" {
  description = "Identifier of the DB instance."
  value       = aws_db_instance.this.identifier
}

output "db_instance_arn" {
  description = "ARN of the DB instance."
  value       = aws_db_instance.this.arn
}

output "db_instance_resource_id" {
  description = "Resource ID of the DB instance (for rds-db:connect IAM policies)."
  value       = aws_db_instance.this.resource_id
}

output "address" {
  description = "DNS name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port Postgres listens on."
  value       = var.port
}

output "db_name" {
  description = "Name of the application database."
  value       = var.db_name
}

output "username" {
  description = "Master user name."
  value       = var.username
}

output "password" {
  description = "Master password."
  value       = module.password.value
  sensitive   = true
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting storage and Performance Insights."
  value       = module.kms.key_arn
}

output "url" {
  description = "DATABASE_URL for the app: postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=require."
  value       = "postgres://${var.username}:${urlencode(module.password.value)}@${aws_db_instance.this.address}:${var.port}/${var.db_name}?sslmode=require"
  sensitive   = true
}

output "subnet_ids" {
  description = "Subnets of the DB subnet group (the private subnets it was given)."
  value       = aws_db_subnet_group.this.subnet_ids
}
