locals {
  # Whether a token was given is not secret; the token is.
  generate_auth_token = nonsensitive(var.auth_token == null)
  auth_token          = local.generate_auth_token ? terraform_data.auth_token[0].input : var.auth_token

  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? module.kms.key_arn : var.kms_key_arn

  # Failover and Multi-AZ need a replica to promote.
  high_availability = var.num_cache_clusters >= 2
}

################################################################################
# AUTH token: generated once by Secrets Manager, then pinned in state
################################################################################

data "aws_secretsmanager_random_password" "auth_token" {
  count = local.generate_auth_token ? 1 : 0

  password_length     = 64
  exclude_punctuation = true
}

# The data source returns a new password on every plan; terraform_data keeps
# the first one (ignore_changes), so the token only changes when you pass one.
resource "terraform_data" "auth_token" {
  count = local.generate_auth_token ? 1 : 0

  input = sensitive(data.aws_secretsmanager_random_password.auth_token[0].random_password)

  lifecycle {
    ignore_changes = [input]
  }
}

################################################################################
# Encryption at rest
################################################################################

module "kms" {
  source = "../kms"

  create      = local.create_kms_key
  description = "${var.name} ElastiCache at-rest encryption"

  tags = var.tags
}

################################################################################
# Network: private subnets, reachable from the allowed security groups only
################################################################################

resource "aws_elasticache_subnet_group" "this" {
  name        = var.name
  description = "${var.name} Redis (private subnets)"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-redis-"
  description = "${var.name} Redis: TLS on port ${var.port} from the allowed security groups only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each = var.allowed_security_group_ids

  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  description                  = "Redis TLS from ${each.key}"

  tags = merge(var.tags, { Name = "${var.name}-redis-from-${each.key}" })
}

################################################################################
# Replication group
################################################################################

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "${var.name} Redis: Channels layer"

  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  num_cache_clusters   = var.num_cache_clusters
  parameter_group_name = var.parameter_group_name
  port                 = var.port

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = local.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = local.auth_token

  automatic_failover_enabled = local.high_availability
  multi_az_enabled           = local.high_availability

  snapshot_retention_limit   = var.snapshot_retention_limit
  snapshot_window            = var.snapshot_window
  maintenance_window         = var.maintenance_window
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  tags = var.tags
}
