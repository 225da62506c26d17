output "value" {
  description = "The value: the given one, or the one generated at the first apply."
  value       = local.generate ? terraform_data.this[0].input : var.value
  sensitive   = true
}

output "generated" {
  description = "Whether the value is generated (no value was given)."
  value       = local.generate
}
