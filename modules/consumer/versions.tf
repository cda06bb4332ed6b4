terraform {
  # 1.5: the optional() semantics the root module's `consumers` map relies on.
  # OpenTofu >= 1.6 reads the same.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The root module's range: written for 6.x, kept >= 5.100 (the newest build
      # installable offline here). No provider configuration: the caller's applies.
      version = ">= 5.100, < 7.0"
    }
  }
}
