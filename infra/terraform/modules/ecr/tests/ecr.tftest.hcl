# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name = "parley"
}

run "immutable_scanned_encrypted" {
  command = plan

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "Tags must be immutable."
  }

  assert {
    condition     = aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push == true
    error_message = "Images must be scanned on push."
  }

  assert {
    condition     = aws_ecr_repository.this.encryption_configuration[0].encryption_type == "KMS" && module.kms.key_rotation_enabled == true
    error_message = "Images must be encrypted with a customer-managed KMS key with rotation."
  }

  assert {
    condition     = aws_ecr_repository.this.force_delete == false
    error_message = "The repository must not be deleted with its images by default."
  }
}

run "lifecycle_policy_expires_old_images" {
  command = plan

  variables {
    max_image_count = 20
  }

  assert {
    condition     = length(jsondecode(aws_ecr_lifecycle_policy.this.policy).rules) == 2
    error_message = "The lifecycle policy must have the untagged and the count rule."
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[1].selection.countNumber == 20
    error_message = "The count rule must keep max_image_count images."
  }

  assert {
    condition     = length(aws_ecr_repository_policy.this) == 0
    error_message = "No repository policy without push principals."
  }
}

run "push_principals_get_a_repository_policy" {
  command = plan

  variables {
    push_principal_arns = ["arn:aws:iam::123456789012:role/ci-image-push"]
  }

  assert {
    condition     = length(aws_ecr_repository_policy.this) == 1
    error_message = "Push principals must get a repository policy."
  }
}

run "given_kms_key_is_used" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = module.kms.key_rotation_enabled == null && aws_ecr_repository.this.encryption_configuration[0].kms_key == var.kms_key_arn
    error_message = "A given KMS key must be used and no key created."
  }
}

run "rejects_uppercase_name" {
  command = plan

  variables {
    name = "Parley"
  }

  expect_failures = [var.name]
}

run "rejects_zero_image_count" {
  command = plan

  variables {
    max_image_count = 0
  }

  expect_failures = [var.max_image_count]
}
