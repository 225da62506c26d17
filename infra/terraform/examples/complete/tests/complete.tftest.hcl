# Plans the whole stack against a mocked AWS provider: no credentials, no
# network. Mocked computed values are made up during plan (override_during) so
# that the wiring between modules (subnet IDs, security groups, URLs) can be
# asserted. The account, region and zones the mock returns are those of every
# module's tests (../../tests/mocks/aws).

mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"

  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "mockedRandomPassword0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH" }
  }

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF" }
  }

  mock_resource "aws_ecr_repository" {
    defaults = { repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/parley" }
  }

  mock_resource "aws_elasticache_replication_group" {
    defaults = { primary_endpoint_address = "master.parley-production.abc123.euw1.cache.amazonaws.com" }
  }

  mock_resource "aws_db_instance" {
    defaults = { address = "parley-production.abc123.eu-west-1.rds.amazonaws.com" }
  }
}

override_resource {
  target          = module.eks.aws_eks_cluster.this
  override_during = plan
  values = {
    arn                   = "arn:aws:eks:eu-west-1:123456789012:cluster/parley-production"
    endpoint              = "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
    identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF" }] }]
    certificate_authority = [{ data = "bW9jaw==" }]
    vpc_config            = { cluster_security_group_id = "sg-0c1a55e7c1a55e7c1" }
  }
}

# Every private subnet gets one made-up ID and every public subnet another, so
# the tests can tell which kind each data store was placed in.
override_resource {
  target          = module.network.aws_subnet.private
  override_during = plan
  values          = { id = "subnet-0private000000000" }
}

override_resource {
  target          = module.network.aws_subnet.public
  override_during = plan
  values          = { id = "subnet-0public0000000000" }
}

variables {
  image_tag     = "1.4.2"
  allowed_hosts = ["chat.example.com"]
}

run "data_stores_in_private_subnets_only" {
  command = plan

  assert {
    condition     = module.postgres.subnet_ids == toset(["subnet-0private000000000"]) && module.postgres.subnet_ids == toset(module.network.private_subnet_ids)
    error_message = "Postgres must be placed in the private subnets."
  }

  assert {
    condition     = module.redis.subnet_ids == toset(["subnet-0private000000000"]) && module.redis.subnet_ids == toset(module.network.private_subnet_ids)
    error_message = "Redis must be placed in the private subnets."
  }

  assert {
    condition     = length(setintersection(module.postgres.subnet_ids, module.network.public_subnet_ids)) == 0 && length(setintersection(module.redis.subnet_ids, module.network.public_subnet_ids)) == 0
    error_message = "No data store may touch a public subnet."
  }

  assert {
    condition     = length(module.network.private_subnet_ids) == 3 && length(module.network.nat_gateway_ids) == 3
    error_message = "The example spreads over three AZs with a NAT gateway in each."
  }
}

run "secrets_hold_the_environment_contract" {
  command = plan

  assert {
    condition     = module.secrets.secret_names == { SECRET_KEY = "parley/production/SECRET_KEY", DATABASE_URL = "parley/production/DATABASE_URL", REDIS_URL = "parley/production/REDIS_URL" }
    error_message = "The secrets must be parley/production/{SECRET_KEY,DATABASE_URL,REDIS_URL}."
  }

  assert {
    condition     = nonsensitive(startswith(module.redis.url, "rediss://:mockedRandomPassword0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH@master.parley-production.abc123.euw1.cache.amazonaws.com:6379/0"))
    error_message = "REDIS_URL must be rediss://:TOKEN@PRIMARY:6379/0."
  }

  assert {
    condition     = nonsensitive(module.postgres.url == "postgres://parley:mockedRandomPassword0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH@parley-production.abc123.eu-west-1.rds.amazonaws.com:5432/parley?sslmode=require")
    error_message = "DATABASE_URL must be postgres://USER:PASSWORD@HOST:5432/parley?sslmode=require."
  }
}

run "helm_values_feed_the_chart" {
  command = plan

  assert {
    condition     = output.helm_values.image.repository == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/parley" && output.helm_values.image.tag == "1.4.2"
    error_message = "helm_values.image must point at the ECR repository and the given tag."
  }

  assert {
    condition     = output.helm_values.secrets.existingSecret == "parley-env"
    error_message = "helm_values.secrets.existingSecret must name the Kubernetes Secret."
  }

  assert {
    condition     = output.helm_values.config.allowedHosts == tolist(["chat.example.com"])
    error_message = "helm_values.config.allowedHosts must carry allowed_hosts."
  }

  assert {
    condition     = yamldecode(output.helm_values_yaml).image.repository == output.helm_values.image.repository
    error_message = "helm_values_yaml must be the YAML of helm_values."
  }

  assert {
    condition     = output.cluster_name == "parley-production" && output.kubeconfig_command == "aws eks update-kubeconfig --region eu-west-1 --name parley-production"
    error_message = "The cluster name and kubeconfig command must be output."
  }
}

run "no_tag_leaves_the_chart_default" {
  command = plan

  variables {
    image_tag = null
  }

  assert {
    condition     = !contains(keys(output.helm_values.image), "tag")
    error_message = "Without image_tag, helm_values must not set image.tag."
  }
}

run "single_nat_for_non_production" {
  command = plan

  variables {
    environment        = "staging"
    az_count           = 2
    single_nat_gateway = true
  }

  assert {
    condition     = length(module.network.nat_gateway_ids) == 1 && length(module.network.private_subnet_ids) == 2
    error_message = "single_nat_gateway must give one NAT gateway for two AZs."
  }
}

run "rejects_latest_tag" {
  command = plan

  variables {
    image_tag = "latest"
  }

  expect_failures = [var.image_tag]
}

run "rejects_one_az" {
  command = plan

  variables {
    az_count = 1
  }

  expect_failures = [var.az_count]
}
