# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  description = "parley-test things"
}

run "key_rotated_admin_only_policy" {
  command = plan

  assert {
    condition     = length(aws_kms_key.this) == 1 && aws_kms_key.this[0].enable_key_rotation && aws_kms_key.this[0].deletion_window_in_days == 30
    error_message = "The key must be rotated and kept 30 days after deletion by default."
  }

  assert {
    condition     = aws_kms_key.this[0].description == "parley-test things"
    error_message = "The key must carry the given description."
  }

  assert {
    condition     = output.key_rotation_enabled == true
    error_message = "key_rotation_enabled must report the rotation of the created key."
  }

  assert {
    condition     = data.aws_iam_policy_document.this[0].statement[0].sid == "AccountAdministration" && data.aws_iam_policy_document.this[0].statement[0].actions == toset(["kms:*"]) && data.aws_iam_policy_document.this[0].statement[0].principals == toset([{ type = "AWS", identifiers = toset(["arn:aws:iam::123456789012:root"]) }])
    error_message = "The key policy must delegate administration to the account root (IAM)."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.this[0].statement) == 1 && length(data.aws_region.current) == 0
    error_message = "Without log groups the key policy has the administration statement only."
  }

  assert {
    condition     = length(aws_kms_alias.this) == 0 && output.alias_name == null
    error_message = "No alias unless alias_name is set."
  }
}

run "cloudwatch_logs_statement_and_alias" {
  command = plan

  variables {
    alias_name                      = "alias/eks/parley-test"
    cloudwatch_logs_log_group_names = ["/aws/eks/parley-test/cluster"]
  }

  assert {
    condition     = data.aws_iam_policy_document.this[0].statement[1].sid == "CloudWatchLogs" && data.aws_iam_policy_document.this[0].statement[1].principals == toset([{ type = "Service", identifiers = toset(["logs.eu-west-1.amazonaws.com"]) }])
    error_message = "The key policy must admit the regional CloudWatch Logs service."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.this[0].statement[1].condition).test == "ArnLike" && one(data.aws_iam_policy_document.this[0].statement[1].condition).variable == "kms:EncryptionContext:aws:logs:arn" && one(one(data.aws_iam_policy_document.this[0].statement[1].condition).values) == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/eks/parley-test/cluster"
    error_message = "CloudWatch Logs may use the key for the named log group only."
  }

  assert {
    condition     = aws_kms_alias.this[0].name == "alias/eks/parley-test"
    error_message = "The alias must be created with the given name."
  }
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create     = false
    alias_name = "alias/unused"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && length(aws_kms_alias.this) == 0 && length(data.aws_iam_policy_document.this) == 0
    error_message = "create = false must create nothing."
  }

  assert {
    condition     = output.key_arn == null && output.key_id == null && output.alias_arn == null && output.key_rotation_enabled == null
    error_message = "Outputs must be null when nothing is created."
  }
}

run "given_key_arn_is_used_and_nothing_created" {
  command = plan

  variables {
    key_arn                         = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    alias_name                      = "alias/unused"
    cloudwatch_logs_log_group_names = ["/aws/eks/parley-test/cluster"]
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && length(aws_kms_alias.this) == 0 && length(data.aws_iam_policy_document.this) == 0 && length(data.aws_region.current) == 0
    error_message = "A given key_arn must create nothing."
  }

  assert {
    condition     = output.key_arn == var.key_arn && output.key_id == null && output.alias_arn == null && output.key_rotation_enabled == null
    error_message = "key_arn must be passed through; the outputs of a created key must be null."
  }
}

run "rejects_non_kms_key_arn" {
  command = plan

  variables {
    key_arn = "arn:aws:iam::123456789012:role/not-a-key"
  }

  expect_failures = [var.key_arn]
}

run "rejects_reserved_alias" {
  command = plan

  variables {
    alias_name = "alias/aws/ebs"
  }

  expect_failures = [var.alias_name]
}

run "rejects_short_deletion_window" {
  command = plan

  variables {
    deletion_window_in_days = 3
  }

  expect_failures = [var.deletion_window_in_days]
}

run "rejects_empty_description" {
  command = plan

  variables {
    description = " "
  }

  expect_failures = [var.description]
}
