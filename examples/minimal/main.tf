# The least you write: one GitHub source. Alarms go to a module-created SNS topic.
provider "aws" {
  region = var.region
}

module "webhooks" {
  source = "../.."

  name = var.name
  sources = {
    github = { scheme = "github" }
  }
}
