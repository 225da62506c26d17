data "aws_region" "current" {}

locals {
  # The keys of the app's environment contract; each becomes one secret.
  keys = toset(["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])

  # Whether a key was given is not secret; the key is.
  generate_secret_key = nonsensitive(var.secret_key == null)
  secret_key          = local.generate_secret_key ? terraform_data.secret_key[0].input : var.secret_key

  values = {
    SECRET_KEY   = local.secret_key
    DATABASE_URL = var.database_url
    REDIS_URL    = var.redis_url
  }

  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? module.kms.key_arn : var.kms_key_arn
}

################################################################################
# Django SECRET_KEY: generated once by Secrets Manager, then pinned in state
################################################################################

data "aws_secretsmanager_random_password" "secret_key" {
  count = local.generate_secret_key ? 1 : 0

  password_length = 64
  # Keep the key safe to paste into shells, YAML and .env files.
  exclude_characters = "\"'`$\\"
}

# The data source returns a new value on every plan; terraform_data keeps the
# first one (ignore_changes), so sessions survive every later apply.
resource "terraform_data" "secret_key" {
  count = local.generate_secret_key ? 1 : 0

  input = sensitive(data.aws_secretsmanager_random_password.secret_key[0].random_password)

  lifecycle {
    ignore_changes = [input]
  }
}

################################################################################
# Encryption
################################################################################

module "kms" {
  source = "../kms"

  create      = local.create_kms_key
  description = "${var.name_prefix} application secrets"

  tags = var.tags
}

################################################################################
# Secrets: one per environment variable
################################################################################

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:The values derive from the RDS password and Redis AUTH token; rotating them here alone would break the app. Rotate by changing the source credential and re-applying.
  for_each = local.keys

  name                    = "${var.name_prefix}/${each.key}"
  description             = "Parley ${each.key} (environment variable of the same name)"
  kms_key_id              = local.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days

  tags = merge(var.tags, { EnvironmentVariable = each.key })
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each = local.keys

  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = local.values[each.key]
}

################################################################################
# Read access (for External Secrets Operator or a deploy job)
################################################################################

data "aws_iam_policy_document" "read" {
  count = var.create_read_policy ? 1 : 0

  statement {
    sid       = "ReadParleySecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [for k in sort(tolist(local.keys)) : aws_secretsmanager_secret.this[k].arn]
  }

  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "read" {
  count = var.create_read_policy ? 1 : 0

  name_prefix = "${substr(replace(var.name_prefix, "/", "-"), 0, 80)}-read-secrets-"
  description = "Read the ${var.name_prefix} application secrets"
  policy      = data.aws_iam_policy_document.read[0].json

  tags = var.tags
}
