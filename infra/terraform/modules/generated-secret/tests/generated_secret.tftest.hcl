# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"

  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "generated0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR" }
  }
}

run "generates_a_value_when_none_is_given" {
  command = plan

  assert {
    condition     = output.generated == true && length(data.aws_secretsmanager_random_password.this) == 1 && length(terraform_data.this) == 1
    error_message = "Without value the module must generate one."
  }

  assert {
    condition     = nonsensitive(output.value == "generated0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR")
    error_message = "The value output must be the generated value."
  }

  assert {
    condition     = data.aws_secretsmanager_random_password.this[0].password_length == 64 && !data.aws_secretsmanager_random_password.this[0].exclude_punctuation && data.aws_secretsmanager_random_password.this[0].exclude_characters == null
    error_message = "The default is 64 characters from the full alphabet."
  }
}

run "generator_options_reach_secrets_manager" {
  command = plan

  variables {
    length              = 40
    exclude_punctuation = true
    exclude_characters  = "\"'`$\\"
  }

  assert {
    condition     = data.aws_secretsmanager_random_password.this[0].password_length == 40 && data.aws_secretsmanager_random_password.this[0].exclude_punctuation
    error_message = "length and exclude_punctuation must be passed to the generator."
  }

  assert {
    condition     = data.aws_secretsmanager_random_password.this[0].exclude_characters == "\"'`$\\"
    error_message = "exclude_characters must be passed to the generator."
  }
}

run "given_value_is_used_and_nothing_generated" {
  command = plan

  variables {
    value = "a-given-value-0123456789"
  }

  assert {
    condition     = output.generated == false && length(data.aws_secretsmanager_random_password.this) == 0 && length(terraform_data.this) == 0
    error_message = "A given value must not generate anything."
  }

  assert {
    condition     = nonsensitive(output.value == "a-given-value-0123456789")
    error_message = "A given value must be used as is."
  }
}

# The generated value is pinned: a later plan, whose data source returns a new
# random value, must keep the value already in state.
run "generated_value_is_created" {
  command = apply
}

run "generated_value_survives_later_plans" {
  command = plan

  override_data {
    target = data.aws_secretsmanager_random_password.this[0]
    values = { random_password = "a-different-random-value-returned-by-a-later-plan" }
  }

  assert {
    condition     = nonsensitive(output.value == "generated0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR")
    error_message = "The value must not change when the random-password data source returns a new value."
  }
}

run "rejects_short_length" {
  command = plan

  variables {
    length = 8
  }

  expect_failures = [var.length]
}

run "rejects_fractional_length" {
  command = plan

  variables {
    length = 20.5
  }

  expect_failures = [var.length]
}
