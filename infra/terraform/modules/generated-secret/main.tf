locals {
  # Whether a value was given is not secret; the value is.
  generate = nonsensitive(var.value == null)
}

################################################################################
# Generated once by Secrets Manager, then pinned in state
################################################################################

data "aws_secretsmanager_random_password" "this" {
  count = local.generate ? 1 : 0

  password_length     = var.length
  exclude_punctuation = var.exclude_punctuation
  exclude_characters  = var.exclude_characters
}

# The data source returns a new value on every plan; terraform_data keeps the
# first one (ignore_changes), so the value only changes when one is given.
resource "terraform_data" "this" {
  count = local.generate ? 1 : 0

  input = sensitive(data.aws_secretsmanager_random_password.this[0].random_password)

  lifecycle {
    ignore_changes = [input]
  }
}
