# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name = "parley-test"
}

run "defaults_two_azs_nat_per_az" {
  command = plan

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2
    error_message = "The defaults are two public and two private subnets."
  }

  assert {
    condition     = [for s in aws_subnet.private : s.availability_zone] == ["eu-west-1a", "eu-west-1b"]
    error_message = "Without azs, the subnets must spread over the region's first available zones."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 2 && length(aws_route.private_nat_gateway) == 2
    error_message = "One NAT gateway per AZ is the default."
  }

  assert {
    condition     = alltrue([for s in concat(aws_subnet.public, aws_subnet.private) : s.map_public_ip_on_launch == false])
    error_message = "No subnet may give instances public IPs."
  }

  assert {
    condition     = aws_vpc.this.enable_dns_hostnames && aws_vpc.this.enable_dns_support
    error_message = "EKS and RDS need DNS hostnames and support."
  }
}

run "flow_log_encrypted_by_default" {
  command = plan

  assert {
    condition     = length(aws_flow_log.this) == 1 && aws_flow_log.this[0].traffic_type == "ALL"
    error_message = "Flow logs of all traffic are on by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_log[0].retention_in_days == 365 && module.flow_log_kms.key_rotation_enabled == true
    error_message = "The flow log group must be KMS-encrypted and kept a year."
  }
}

run "single_nat_gateway_three_azs" {
  command = plan

  variables {
    azs                = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    public_subnets     = ["10.0.96.0/22", "10.0.100.0/22", "10.0.104.0/22"]
    private_subnets    = ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_eip.nat) == 1
    error_message = "single_nat_gateway must create exactly one NAT gateway."
  }

  assert {
    condition     = length(aws_route.private_nat_gateway) == 3 && length(aws_route_table.private) == 3
    error_message = "Every private route table must still route through the NAT gateway."
  }
}

run "flow_log_and_nat_off" {
  command = plan

  variables {
    enable_flow_log    = false
    enable_nat_gateway = false
  }

  assert {
    condition     = length(aws_flow_log.this) == 0 && module.flow_log_kms.key_rotation_enabled == null && length(aws_iam_role.flow_log) == 0
    error_message = "enable_flow_log = false must create no flow log resources."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_route.private_nat_gateway) == 0
    error_message = "enable_nat_gateway = false must create no NAT gateway."
  }
}

run "rejects_single_private_subnet" {
  command = plan

  variables {
    private_subnets = ["10.0.0.0/19"]
  }

  expect_failures = [var.private_subnets]
}

run "rejects_invalid_cidr" {
  command = plan

  variables {
    cidr = "10.0.0.0/8"
  }

  expect_failures = [var.cidr]
}

run "rejects_unbalanced_subnets" {
  command = plan

  variables {
    public_subnets = ["10.0.96.0/22", "10.0.100.0/22", "10.0.104.0/22"]
  }

  expect_failures = [aws_vpc.this]
}

run "rejects_unknown_flow_log_retention" {
  command = plan

  variables {
    flow_log_retention_in_days = 42
  }

  expect_failures = [var.flow_log_retention_in_days]
}
