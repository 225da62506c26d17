# Plan-only tests against a mocked AWS provider: no credentials, no network.
# The account, region and zones the mock returns are shared by every module's
# tests (../../tests/mocks/aws); only what these assertions compare is inline.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name       = "parley-test"
  subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
}

run "secrets_encrypted_with_kms" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.encryption_config[0].resources == toset(["secrets"])
    error_message = "Kubernetes secrets must be envelope-encrypted."
  }

  assert {
    condition     = module.kms.key_rotation_enabled == true
    error_message = "Secrets encryption must use a customer-managed KMS key with rotation."
  }
}

run "private_endpoint_by_default" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_private_access && !aws_eks_cluster.this.vpc_config[0].endpoint_public_access
    error_message = "The API endpoint must be private only by default."
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].subnet_ids == toset(var.subnet_ids)
    error_message = "The cluster must use the private subnets it was given."
  }
}

run "public_endpoint_restricted_to_cidrs" {
  command = plan

  variables {
    endpoint_public_access       = true
    endpoint_public_access_cidrs = ["203.0.113.0/24"]
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access && aws_eks_cluster.this.vpc_config[0].public_access_cidrs == toset(["203.0.113.0/24"])
    error_message = "A public endpoint must be limited to the given CIDRs."
  }
}

run "control_plane_logs_and_irsa" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.enabled_cluster_log_types == toset(["api", "audit", "authenticator", "controllerManager", "scheduler"])
    error_message = "All control-plane log types are on by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/eks/parley-test/cluster" && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The control-plane log group must be the one EKS writes to, kept a year."
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.this) == 1 && aws_iam_openid_connect_provider.this[0].client_id_list == toset(["sts.amazonaws.com"])
    error_message = "IRSA's OIDC provider must exist, for sts.amazonaws.com."
  }
}

run "managed_node_group_hardened" {
  command = plan

  assert {
    condition     = aws_eks_node_group.this.scaling_config[0].min_size == 2 && aws_eks_node_group.this.scaling_config[0].max_size == 6
    error_message = "The node group must use the given sizes."
  }

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_tokens == "required" && aws_launch_template.this.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "Nodes must require IMDSv2 with a hop limit of 1."
  }

  assert {
    condition     = aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "Node root volumes must be encrypted."
  }

  assert {
    condition     = toset(keys(aws_eks_addon.this)) == toset(["coredns", "kube-proxy", "vpc-cni", "eks-pod-identity-agent"])
    error_message = "The default add-ons must be managed."
  }
}

run "admin_access_entries" {
  command = plan

  variables {
    admin_principal_arns = ["arn:aws:iam::123456789012:role/ci-deploy"]
  }

  assert {
    condition     = length(aws_eks_access_entry.admin) == 1 && length(aws_eks_access_policy_association.admin) == 1
    error_message = "Each admin principal must get an access entry and the cluster-admin policy."
  }
}

run "rejects_world_open_endpoint" {
  command = plan

  variables {
    endpoint_public_access       = true
    endpoint_public_access_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.endpoint_public_access_cidrs]
}

run "rejects_public_endpoint_without_cidrs" {
  command = plan

  variables {
    endpoint_public_access = true
  }

  expect_failures = [aws_eks_cluster.this]
}

run "rejects_desired_below_min" {
  command = plan

  variables {
    node_min_size     = 3
    node_desired_size = 2
  }

  expect_failures = [aws_eks_node_group.this]
}

run "rejects_single_subnet" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"]
  }

  expect_failures = [var.subnet_ids]
}

run "rejects_unknown_log_type" {
  command = plan

  variables {
    cluster_enabled_log_types = ["api", "kubelet"]
  }

  expect_failures = [var.cluster_enabled_log_types]
}
