# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"

  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "generated-django-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz" }
  }
}

variables {
  name_prefix  = "parley/test"
  database_url = "postgres://parley:pw@db.internal:5432/parley?sslmode=require"
  redis_url    = "rediss://:token@redis.internal:6379/0"
}

run "one_encrypted_secret_per_environment_variable" {
  command = plan

  assert {
    condition     = toset(keys(aws_secretsmanager_secret.this)) == toset(["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
    error_message = "There must be one secret per environment variable of the contract."
  }

  assert {
    condition     = alltrue([for k, s in aws_secretsmanager_secret.this : s.name == "parley/test/${k}"])
    error_message = "Secrets must be named PREFIX/VARIABLE."
  }

  assert {
    condition     = module.kms.key_rotation_enabled == true
    error_message = "Secrets must be encrypted with a customer-managed KMS key with rotation."
  }

  assert {
    condition     = alltrue([for s in aws_secretsmanager_secret.this : s.recovery_window_in_days == 30])
    error_message = "Deleted secrets must be recoverable for 30 days by default."
  }
}

run "values_land_in_their_secrets" {
  command = plan

  assert {
    condition     = nonsensitive(aws_secretsmanager_secret_version.this["DATABASE_URL"].secret_string == var.database_url)
    error_message = "DATABASE_URL must hold the given URL."
  }

  assert {
    condition     = nonsensitive(aws_secretsmanager_secret_version.this["REDIS_URL"].secret_string == var.redis_url)
    error_message = "REDIS_URL must hold the given URL."
  }

  assert {
    condition     = nonsensitive(aws_secretsmanager_secret_version.this["SECRET_KEY"].secret_string == "generated-django-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    error_message = "Without secret_key the generated key must be stored."
  }

  assert {
    condition     = length(aws_iam_policy.read) == 1
    error_message = "A read policy must be created by default."
  }
}

run "given_secret_key_is_used" {
  command = plan

  variables {
    secret_key         = "a-given-django-secret-key-that-is-long-enough-0123456789"
    create_read_policy = false
  }

  assert {
    condition     = !module.secret_key.generated && nonsensitive(aws_secretsmanager_secret_version.this["SECRET_KEY"].secret_string == var.secret_key)
    error_message = "A given secret_key must be stored as is, and nothing generated."
  }

  assert {
    condition     = length(aws_iam_policy.read) == 0
    error_message = "create_read_policy = false must not create the policy."
  }
}

run "rejects_plain_redis_url" {
  command = plan

  variables {
    redis_url = "redis://:token@redis.internal:6379/0"
  }

  expect_failures = [var.redis_url]
}

run "rejects_short_secret_key" {
  command = plan

  variables {
    secret_key = "too-short"
  }

  expect_failures = [var.secret_key]
}

run "rejects_bad_prefix" {
  command = plan

  variables {
    name_prefix = "/parley/test/"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_bad_recovery_window" {
  command = plan

  variables {
    recovery_window_in_days = 3
  }

  expect_failures = [var.recovery_window_in_days]
}
