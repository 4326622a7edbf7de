variable "prefix" {
  description = "Prefix of the subnet ids this fixture network makes up."
  type        = string
}
