terraform {
  # Provider-free: terraform_data is built into Terraform, so this runs offline.
  required_version = ">= 1.5.0"
}
