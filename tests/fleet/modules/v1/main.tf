variable "message" { type = string }
variable "idp_team" { type = string }
variable "idp_service" { type = string }
variable "idp_environment" { type = string }
variable "idp_resource" { type = string }

resource "terraform_data" "this" {
  input = var.message
}

output "echo" {
  value = terraform_data.this.output
}
