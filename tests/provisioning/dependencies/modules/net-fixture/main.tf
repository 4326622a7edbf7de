# A provider-free stand-in for a network: its outputs are derived from its input.
resource "terraform_data" "network" {
  input = var.prefix
}

output "network_id" {
  description = "Id of the fixture network."
  value       = "net-${terraform_data.network.output}"
}

output "subnet_ids" {
  description = "Ids of the fixture network's subnets."
  value       = [for zone in ["a", "b"] : "subnet-${terraform_data.network.output}-${zone}"]
}

output "token" {
  description = "A sensitive output (never passed on)."
  value       = "secret-${var.prefix}"
  sensitive   = true
}
