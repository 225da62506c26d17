# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"

  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "generatedPassword0123456789abcdefghijklm" }
  }
}

variables {
  name                       = "parley-test"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  allowed_security_group_ids = { eks_nodes = "sg-0123456789abcdef0" }
}

run "encrypted_private_and_protected" {
  command = plan

  assert {
    condition     = aws_db_instance.this.storage_encrypted == true
    error_message = "Storage must be encrypted."
  }

  assert {
    condition     = module.kms.key_rotation_enabled == true
    error_message = "Storage must be encrypted with a customer-managed KMS key with rotation."
  }

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "The database must not be publicly accessible."
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection == true && aws_db_instance.this.skip_final_snapshot == false
    error_message = "Deletion protection and a final snapshot are the defaults."
  }

  assert {
    condition     = aws_db_instance.this.backup_retention_period == 7 && aws_db_instance.this.copy_tags_to_snapshot
    error_message = "Backups must be kept 7 days by default."
  }

  assert {
    condition     = aws_db_instance.this.multi_az == true
    error_message = "Multi-AZ is the default."
  }

  assert {
    condition     = aws_db_instance.this.iam_database_authentication_enabled && aws_db_instance.this.performance_insights_enabled && aws_db_instance.this.monitoring_interval == 60
    error_message = "IAM auth, Performance Insights and Enhanced Monitoring are on by default."
  }
}

run "tls_required_by_parameter_group" {
  command = plan

  assert {
    condition     = anytrue([for p in aws_db_parameter_group.this.parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "The parameter group must force TLS (rds.force_ssl = 1)."
  }

  assert {
    condition     = aws_db_parameter_group.this.family == "postgres16"
    error_message = "The parameter group family must follow the engine's major version."
  }
}

run "private_subnets_and_node_sg_only" {
  command = plan

  assert {
    condition     = aws_db_subnet_group.this.subnet_ids == toset(var.subnet_ids)
    error_message = "The database must live in exactly the private subnets it was given."
  }

  assert {
    condition = length(aws_vpc_security_group_ingress_rule.this) == 1 && alltrue([for r in aws_vpc_security_group_ingress_rule.this :
      r.referenced_security_group_id == "sg-0123456789abcdef0" && r.cidr_ipv4 == null && r.from_port == 5432 && r.to_port == 5432
    ])
    error_message = "Ingress must come from the node security group on 5432 only, never from a CIDR."
  }
}

run "generated_password" {
  command = plan

  assert {
    condition     = nonsensitive(aws_db_instance.this.password == "generatedPassword0123456789abcdefghijklm")
    error_message = "Without a password the module must set the generated one."
  }
}

run "options_off" {
  command = plan

  variables {
    multi_az                            = false
    deletion_protection                 = false
    iam_database_authentication_enabled = false
    performance_insights_enabled        = false
    monitoring_interval                 = 0
    password                            = "given-password-123"
    engine_version                      = "17.2"
  }

  assert {
    condition     = !aws_db_instance.this.multi_az && !aws_db_instance.this.deletion_protection && !aws_db_instance.this.performance_insights_enabled
    error_message = "multi_az, deletion_protection and performance_insights_enabled must be switchable."
  }

  assert {
    condition     = length(aws_iam_role.monitoring) == 0 && aws_db_instance.this.monitoring_interval == 0
    error_message = "monitoring_interval = 0 must not create the monitoring role."
  }

  assert {
    condition     = nonsensitive(aws_db_instance.this.password == "given-password-123") && !module.password.generated
    error_message = "A given password must be used as is, and nothing generated."
  }

  assert {
    condition     = aws_db_instance.this.storage_encrypted && !aws_db_instance.this.publicly_accessible && aws_db_parameter_group.this.family == "postgres17"
    error_message = "Encryption and privacy do not depend on the options."
  }
}

run "rejects_non_rds_instance_class" {
  command = plan

  variables {
    instance_class = "m7g.large"
  }

  expect_failures = [var.instance_class]
}

run "rejects_zero_backup_retention" {
  command = plan

  variables {
    backup_retention_period = 0
  }

  expect_failures = [var.backup_retention_period]
}

run "rejects_single_subnet" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"]
  }

  expect_failures = [var.subnet_ids]
}

run "rejects_reserved_username" {
  command = plan

  variables {
    username = "postgres"
  }

  expect_failures = [var.username]
}
