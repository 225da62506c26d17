provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

locals {
  name = "${var.name}-${var.environment}"

  tags = merge({
    Project     = var.name
    Environment = var.environment
    ManagedBy   = "terraform"
  }, var.tags)

  # One /19 private and one /22 public subnet per AZ (for a /16 VPC).
  private_subnets = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 3, i)]
  public_subnets  = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 6, 48 + i)]
}

################################################################################
# Network, cluster, registry
################################################################################

module "network" {
  source = "../../modules/network"

  name            = local.name
  cidr            = var.vpc_cidr
  azs             = var.azs
  private_subnets = local.private_subnets
  public_subnets  = local.public_subnets

  single_nat_gateway = var.single_nat_gateway
  enable_flow_log    = true

  # Where the AWS Load Balancer Controller puts internet-facing / internal load balancers.
  public_subnet_tags  = { "kubernetes.io/role/elb" = "1" }
  private_subnet_tags = { "kubernetes.io/role/internal-elb" = "1" }
}

module "eks" {
  source = "../../modules/eks"

  name               = local.name
  kubernetes_version = var.kubernetes_version
  subnet_ids         = module.network.private_subnet_ids

  endpoint_public_access       = var.cluster_endpoint_public_access
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  admin_principal_arns         = var.cluster_admin_principal_arns

  node_instance_types = var.node_instance_types
  node_min_size       = var.node_min_size
  node_max_size       = var.node_max_size
  node_desired_size   = var.node_desired_size
}

module "ecr" {
  source = "../../modules/ecr"

  name                = var.name
  push_principal_arns = var.ecr_push_principal_arns
}

################################################################################
# Data stores: private subnets, reachable from the cluster's nodes only
################################################################################

module "redis" {
  source = "../../modules/redis"

  name       = local.name
  vpc_id     = module.network.vpc_id
  subnet_ids = module.network.private_subnet_ids

  allowed_security_group_ids = { eks_nodes = module.eks.cluster_security_group_id }

  node_type          = var.redis_node_type
  num_cache_clusters = var.redis_num_cache_clusters
}

module "postgres" {
  source = "../../modules/postgres"

  name       = local.name
  vpc_id     = module.network.vpc_id
  subnet_ids = module.network.private_subnet_ids

  allowed_security_group_ids = { eks_nodes = module.eks.cluster_security_group_id }

  instance_class      = var.db_instance_class
  multi_az            = var.db_multi_az
  deletion_protection = var.db_deletion_protection
}

################################################################################
# The app's secrets: SECRET_KEY, DATABASE_URL, REDIS_URL
################################################################################

module "secrets" {
  source = "../../modules/secrets"

  name_prefix  = "${var.name}/${var.environment}"
  database_url = module.postgres.url
  redis_url    = module.redis.url
}

# IRSA role for External Secrets Operator: it may read exactly these secrets
# and copies them into the Kubernetes Secret the Helm chart uses.
data "aws_iam_policy_document" "external_secrets_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:${var.external_secrets_namespace}:${var.external_secrets_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "external_secrets" {
  name_prefix        = "${substr(local.name, 0, 20)}-external-secrets-"
  description        = "External Secrets Operator: read the ${local.name} application secrets"
  assume_role_policy = data.aws_iam_policy_document.external_secrets_assume.json
}

resource "aws_iam_role_policy_attachment" "external_secrets" {
  role       = aws_iam_role.external_secrets.name
  policy_arn = module.secrets.read_policy_arn
}

################################################################################
# Helm values
################################################################################

locals {
  helm_values = {
    image = { for k, v in {
      repository = module.ecr.repository_url
      tag        = var.image_tag
    } : k => v if v != null }
    secrets = {
      existingSecret = var.kubernetes_secret_name
      keys = {
        secretKey   = "SECRET_KEY"
        databaseUrl = "DATABASE_URL"
        redisUrl    = "REDIS_URL"
      }
    }
    config = {
      allowedHosts = var.allowed_hosts
    }
  }
}
