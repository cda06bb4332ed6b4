# The processor's deployment package, shared by the root module and `make package`
# so both produce the very same code. Only the Python sources are listed (no
# __pycache__ or editor files), each from its own content, so the hash depends
# on the code alone. extra_files adds generated files (the root module's
# webhook_config/sources.json); a second, code-only zip is then built as well, so
# code_base64sha256 stays comparable with `make package`.
terraform {
  required_version = ">= 1.5"
  required_providers {
    archive = {
      source  = "hashicorp/archive"
      version = ">= 1.3"
    }
  }
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

  dynamic "source" {
    for_each = var.extra_files
    content {
      filename = source.key
      content  = source.value
    }
  }

  lifecycle {
    precondition {
      condition     = length(setintersection(local.files, keys(var.extra_files))) == 0
      error_message = "extra_files would overwrite sources: ${join(", ", setintersection(local.files, keys(var.extra_files)))}."
    }
  }
}

# The code alone, exactly as `make package` builds it. Only needed when extra
# files make the deployed zip differ from it.
data "archive_file" "code" {
  count = length(var.extra_files) > 0 ? 1 : 0

  type        = "zip"
  output_path = "${trimsuffix(var.output_path, ".zip")}-code.zip"

  dynamic "source" {
    for_each = local.files
    content {
      filename = source.value
      content  = file("${var.source_dir}/${source.value}")
    }
  }
}
