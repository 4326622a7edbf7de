# v2 of the fleet fixture: every input changes in place; "replace-me" and "boom" are
# replaced (a new trigger), and the replacement of "boom" fails in its provisioner.
variable "message" { type = string }
variable "idp_team" { type = string }
variable "idp_service" { type = string }
variable "idp_environment" { type = string }
variable "idp_resource" { type = string }

resource "terraform_data" "this" {
  input            = "${var.message}@v2"
  triggers_replace = contains(["replace-me", "boom"], var.message) ? "v2" : null

  provisioner "local-exec" {
    command = var.message == "boom" ? "echo 'boom: v2 refuses this resource' >&2; exit 3" : "true"
  }
}

output "echo" {
  value = terraform_data.this.output
}
