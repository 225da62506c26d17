locals {
  # Failover and Multi-AZ need a replica to promote.
  high_availability = var.num_cache_clusters >= 2
}

################################################################################
# AUTH token: the given one, or generated once and pinned in state
################################################################################

module "auth_token" {
  source = "../generated-secret"

  value               = var.auth_token
  length              = 64
  exclude_punctuation = true
}

################################################################################
# Encryption at rest: the given key or a new one
################################################################################

module "kms" {
  source = "../kms"

  key_arn     = var.kms_key_arn
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
  kms_key_id                 = module.kms.key_arn
  transit_encryption_enabled = true
  auth_token                 = module.auth_token.value

  automatic_failover_enabled = local.high_availability
  multi_az_enabled           = local.high_availability

  snapshot_retention_limit   = var.snapshot_retention_limit
  snapshot_window            = var.snapshot_window
  maintenance_window         = var.maintenance_window
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  tags = var.tags
}
