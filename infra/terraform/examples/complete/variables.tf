variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as \"eu-west-1\"."
  }
}

variable "name" {
  description = "Application name: the ECR repository, the secret path prefix and, with environment, every resource name."
  type        = string
  default     = "parley"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "environment" {
  description = "Environment name (production, staging, ...); resource names are NAME-ENVIRONMENT."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters and digits, starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC (/16 to /20; subnets are carved from it)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR block from /16 to /20."
  }
}

variable "az_count" {
  description = "Availability zones to spread subnets, nodes, Redis and Postgres over."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 2 to 6."
  }
}

variable "azs" {
  description = "Availability zones to use (az_count of them); empty picks the region's first available ones."
  type        = list(string)
  default     = []
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, for non-production) instead of one per AZ."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the EKS cluster."
  type        = string
  default     = "1.32"
}

variable "cluster_endpoint_public_access" {
  description = "Expose the Kubernetes API publicly (restricted to cluster_endpoint_public_access_cidrs). Off: run helm from inside the VPC."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "Networks allowed to reach the public Kubernetes API endpoint (your office, your CI runners)."
  type        = list(string)
  default     = []
}

variable "cluster_admin_principal_arns" {
  description = "IAM roles/users given cluster-admin, for example the CI role that runs helm upgrade."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "EC2 instance types of the node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
  default     = 9
}

variable "node_desired_size" {
  description = "Number of nodes at creation."
  type        = number
  default     = 3
}

variable "redis_node_type" {
  description = "ElastiCache node type of the channel layer."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_num_cache_clusters" {
  description = "Redis nodes (primary + replicas); 2 or more gives automatic failover and Multi-AZ."
  type        = number
  default     = 2
}

variable "db_instance_class" {
  description = "RDS instance class of Postgres."
  type        = string
  default     = "db.m7g.large"
}

variable "db_multi_az" {
  description = "Run Postgres with a Multi-AZ standby."
  type        = bool
  default     = true
}

variable "db_deletion_protection" {
  description = "Protect the Postgres instance from deletion (turn off before terraform destroy)."
  type        = bool
  default     = true
}

variable "ecr_push_principal_arns" {
  description = "IAM principals (the CI image-push role) allowed to push to the repository."
  type        = list(string)
  default     = []
}

variable "image_tag" {
  description = "Image tag to deploy (the Helm value image.tag); null leaves the chart's appVersion. Tags are immutable in ECR: use a version or commit SHA, never latest."
  type        = string
  default     = null

  validation {
    condition     = var.image_tag == null || try(can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest", false)
    error_message = "image_tag must be a valid image tag other than \"latest\" (the repository's tags are immutable)."
  }
}

variable "allowed_hosts" {
  description = "Extra host names Django serves (the Helm value config.allowedHosts; the chart adds its Ingress hosts itself)."
  type        = list(string)
  default     = []
}

variable "kubernetes_secret_name" {
  description = "Name of the Kubernetes Secret (keys SECRET_KEY, DATABASE_URL, REDIS_URL) the chart reads: the Helm value secrets.existingSecret."
  type        = string
  default     = "parley-env"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.kubernetes_secret_name)) && length(var.kubernetes_secret_name) <= 253
    error_message = "kubernetes_secret_name must be a Kubernetes object name: lowercase letters, digits and hyphens."
  }
}

variable "external_secrets_namespace" {
  description = "Namespace of the External Secrets Operator's service account (trusted by its IRSA role)."
  type        = string
  default     = "external-secrets"
}

variable "external_secrets_service_account" {
  description = "Name of the External Secrets Operator's service account (trusted by its IRSA role)."
  type        = string
  default     = "external-secrets"
}

variable "tags" {
  description = "Extra tags for every resource (merged over Project, Environment and ManagedBy)."
  type        = map(string)
  default     = {}
}
