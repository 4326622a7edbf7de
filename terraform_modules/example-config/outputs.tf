output "config_id" {
  description = "Id of the stored configuration."
  value       = terraform_data.config.id
}

output "message" {
  description = "The stored greeting."
  value       = terraform_data.config.output.message
}

output "replicas" {
  description = "The stored replica count."
  value       = terraform_data.config.output.replicas
}

output "labels" {
  description = "The stored labels."
  value       = terraform_data.config.output.labels
}

output "tags" {
  description = "The platform labels of the configuration."
  value       = terraform_data.config.output.tags
}

output "secret_token" {
  description = "The secret token, as given (sensitive)."
  value       = var.secret_token
  sensitive   = true
}
