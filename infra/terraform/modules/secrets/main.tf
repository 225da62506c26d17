data "aws_region" "current" {}

locals {
  # The keys of the app's environment contract; each becomes one secret.
  keys = toset(["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])

  values = {
    SECRET_KEY   = module.secret_key.value
    DATABASE_URL = var.database_url
    REDIS_URL    = var.redis_url
  }
}

################################################################################
# Django SECRET_KEY: the given one, or generated once and pinned in state (so
# sessions survive every later apply)
################################################################################

module "secret_key" {
  source = "../generated-secret"

  value  = var.secret_key
  length = 64
  # Keep the key safe to paste into shells, YAML and .env files.
  exclude_characters = "\"'`$\\"
}

################################################################################
# Encryption: the given key or a new one
################################################################################

module "kms" {
  source = "../kms"

  key_arn     = var.kms_key_arn
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
  kms_key_id              = module.kms.key_arn
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
    resources = [module.kms.key_arn]

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
