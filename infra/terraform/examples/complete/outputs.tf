output "region" {
  description = "AWS region of the deployment."
  value       = var.region
}

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = module.eks.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that points kubectl and helm at the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "ecr_repository_url" {
  description = "ECR repository to push the image to: the Helm value image.repository."
  value       = module.ecr.repository_url
}

output "secret_arns" {
  description = "Secrets Manager ARNs of SECRET_KEY, DATABASE_URL and REDIS_URL."
  value       = module.secrets.secret_arns
}

output "secret_names" {
  description = "Secrets Manager names of SECRET_KEY, DATABASE_URL and REDIS_URL (for ExternalSecret remoteRefs or aws secretsmanager get-secret-value)."
  value       = module.secrets.secret_names
}

output "kubernetes_secret_name" {
  description = "Name of the Kubernetes Secret to create from the secrets: the Helm value secrets.existingSecret."
  value       = var.kubernetes_secret_name
}

output "external_secrets_role_arn" {
  description = "IAM role for the External Secrets Operator's service account (eks.amazonaws.com/role-arn annotation)."
  value       = aws_iam_role.external_secrets.arn
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the Redis replication group."
  value       = module.redis.primary_endpoint_address
}

output "postgres_address" {
  description = "DNS name of the Postgres instance."
  value       = module.postgres.address
}

output "helm_values" {
  description = "Values for helm/parley (image.repository, image.tag, secrets.existingSecret, config.allowedHosts): terraform output -json helm_values > values-aws.json; helm upgrade --install ... -f values-aws.json."
  value       = local.helm_values
}

output "helm_values_yaml" {
  description = "helm_values as YAML: terraform output -raw helm_values_yaml > values-aws.yaml."
  value       = yamlencode(local.helm_values)
}
