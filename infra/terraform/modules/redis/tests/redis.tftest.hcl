# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"

  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01" }
  }
}

variables {
  name                       = "parley-test"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  allowed_security_group_ids = { eks_nodes = "sg-0123456789abcdef0" }
}

run "encrypted_in_transit_and_at_rest_with_auth" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.this.transit_encryption_enabled == true
    error_message = "Redis must require TLS in transit."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.at_rest_encryption_enabled == "true"
    error_message = "Redis must be encrypted at rest."
  }

  assert {
    condition     = module.kms.key_rotation_enabled == true
    error_message = "At-rest encryption must use a customer-managed KMS key with rotation."
  }

  assert {
    condition     = nonsensitive(aws_elasticache_replication_group.this.auth_token == "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01")
    error_message = "Without auth_token the module must set the generated AUTH token."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.engine == "redis" && aws_elasticache_replication_group.this.port == 6379
    error_message = "Redis must listen on 6379."
  }
}

run "failover_and_multi_az_with_two_nodes" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.this.num_cache_clusters == 2
    error_message = "The default is a primary and a replica."
  }

  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "Two or more nodes must turn on automatic failover and Multi-AZ."
  }
}

run "failover_with_three_nodes" {
  command = plan

  variables {
    num_cache_clusters = 3
  }

  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "Three nodes must keep automatic failover and Multi-AZ."
  }
}

run "single_node_has_no_failover" {
  command = plan

  variables {
    num_cache_clusters = 1
  }

  assert {
    condition     = !aws_elasticache_replication_group.this.automatic_failover_enabled && !aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "A single node cannot fail over; the flags must be off or AWS rejects the group."
  }
}

run "private_subnets_and_node_sg_only" {
  command = plan

  assert {
    condition     = aws_elasticache_subnet_group.this.subnet_ids == toset(var.subnet_ids)
    error_message = "The cache must live in exactly the private subnets it was given."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.this) == 1
    error_message = "Only the allowed security groups may be admitted."
  }

  assert {
    condition = alltrue([for r in aws_vpc_security_group_ingress_rule.this :
      r.referenced_security_group_id == "sg-0123456789abcdef0" && r.cidr_ipv4 == null && r.cidr_ipv6 == null && r.from_port == 6379 && r.to_port == 6379
    ])
    error_message = "Ingress must come from the node security group on 6379 only, never from a CIDR."
  }
}

run "given_auth_token_is_used" {
  command = plan

  variables {
    auth_token = "a-very-long-given-token-0123456789"
  }

  assert {
    condition     = !module.auth_token.generated && nonsensitive(aws_elasticache_replication_group.this.auth_token == "a-very-long-given-token-0123456789")
    error_message = "A given auth_token must be used as is, and nothing generated."
  }
}

run "rejects_short_auth_token" {
  command = plan

  variables {
    auth_token = "short"
  }

  expect_failures = [var.auth_token]
}

run "rejects_non_cache_node_type" {
  command = plan

  variables {
    node_type = "t4g.small"
  }

  expect_failures = [var.node_type]
}

run "rejects_too_many_nodes" {
  command = plan

  variables {
    num_cache_clusters = 7
  }

  expect_failures = [var.num_cache_clusters]
}

run "rejects_no_allowed_security_group" {
  command = plan

  variables {
    allowed_security_group_ids = {}
  }

  expect_failures = [var.allowed_security_group_ids]
}

run "rejects_invalid_name" {
  command = plan

  variables {
    name = "Parley--cache-"
  }

  expect_failures = [var.name]
}

# The generated token is pinned: a later plan, whose data source returns a new
# random value, must keep the token already in state.
run "generated_token_is_created" {
  command = apply
}

run "generated_token_survives_later_plans" {
  command = plan

  override_data {
    target = module.auth_token.data.aws_secretsmanager_random_password.this[0]
    values = { random_password = "a-different-random-value-returned-by-a-later-plan" }
  }

  assert {
    condition     = nonsensitive(aws_elasticache_replication_group.this.auth_token == "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01")
    error_message = "The AUTH token must not change when the random-password data source returns a new value."
  }
}
