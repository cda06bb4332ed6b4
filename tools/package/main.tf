# `make package`: the processor zip exactly as the module deploys it (the same
# lambda-package module, hence the same files and hash), without any AWS call.
terraform {
  required_version = ">= 1.5"
}

variable "output_path" {
  type = string
}

module "package" {
  source = "../../modules/lambda-package"

  source_dir  = "${path.module}/../../lambda"
  output_path = var.output_path
}

output "output_path" {
  value = module.package.output_path
}

output "output_base64sha256" {
  value = module.package.output_base64sha256
}

output "files" {
  value = module.package.files
}
