terraform {
  # 1.5: check blocks and the current optional() semantics. OpenTofu >= 1.6 reads the same.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Written for 6.x; kept >= 5.100 because 5.100 is the newest build that can be
      # installed offline here (README "Toolchain"). Nothing deprecated in 6.x is used.
      version = ">= 5.100, < 7.0"
    }
    # hashicorp/archive (>= 1.3) is required by modules/lambda-package, which uses it.
  }
}
