data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # A given key is used as is; only without one (and with create) is a key made.
  create = var.create && var.key_arn == null

  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
}

data "aws_region" "current" {
  count = local.create && length(var.cloudwatch_logs_log_group_names) > 0 ? 1 : 0
}

################################################################################
# Key policy: the account administers the key through IAM; CloudWatch Logs may
# use it for the named log groups only
################################################################################

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:KMS key policy, not an IAM policy: Resource "*" means this key only, and kms:* for the account root is AWS's default statement that delegates access to IAM
  #checkov:skip=CKV_AWS_111:KMS key policy, not an IAM policy: Resource "*" means this key only, and kms:* for the account root is AWS's default statement that delegates access to IAM
  #checkov:skip=CKV_AWS_356:KMS key policy, not an IAM policy: Resource "*" means this key only, and kms:* for the account root is AWS's default statement that delegates access to IAM
  count = local.create ? 1 : 0

  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = length(var.cloudwatch_logs_log_group_names) > 0 ? [data.aws_region.current[0].name] : []

    content {
      sid       = "CloudWatchLogs"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${statement.value}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = [for name in var.cloudwatch_logs_log_group_names : "arn:${local.partition}:logs:${statement.value}:${local.account_id}:log-group:${name}"]
      }
    }
  }
}

################################################################################
# Key (always rotated) and optional alias
################################################################################

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.this[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create && var.alias_name != null ? 1 : 0

  name          = var.alias_name
  target_key_id = aws_kms_key.this[0].key_id
}
