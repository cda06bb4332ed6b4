# The processor's deployment package, shared by the root module and `make package`
# so both produce the very same zip. Only the Python sources are listed (no
# __pycache__ or editor files), each from its own content, so the hash depends
# on the code alone.
terraform {
  required_version = ">= 1.5"
  required_providers {
    archive = {
      source  = "hashicorp/archive"
      version = ">= 1.3"
    }
  }
}

variable "source_dir" {
  description = "Directory holding the processor's Python package."
  type        = string
}

variable "output_path" {
  description = "Where to write the zip."
  type        = string
}

locals {
  files = sort(fileset(var.source_dir, "**/*.py"))
}

data "archive_file" "this" {
  type        = "zip"
  output_path = var.output_path

  dynamic "source" {
    for_each = local.files
    content {
      filename = source.value
      content  = file("${var.source_dir}/${source.value}")
    }
  }
}

output "output_path" {
  description = "Path of the zip."
  value       = data.archive_file.this.output_path
}

output "output_base64sha256" {
  description = "Base64 SHA-256 of the zip (the Lambda source_code_hash)."
  value       = data.archive_file.this.output_base64sha256
}

output "files" {
  description = "Files packed, relative to source_dir."
  value       = local.files
}
