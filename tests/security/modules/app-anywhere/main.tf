# A provider-free dependant: echoes the subnets it was given.
resource "terraform_data" "app" {
  input = var.subnet_ids
}

output "subnets" {
  description = "The subnets the app was planned with."
  value       = terraform_data.app.output
}

output "label" {
  description = "The label."
  value       = var.label
}
