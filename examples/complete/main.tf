# Every source kind, a sender allowlist, per-source throttling, alarm emails,
# access logs and tags. The tests and `make demo` apply this example.
provider "aws" {
  region = var.region
}

module "webhooks" {
  source = "../.."

  name = var.name
  tags = var.tags

  sources = {
    stripe  = { scheme = "stripe" }
    github  = { scheme = "github", content_types = ["application/json", "application/x-www-form-urlencoded"] }
    shopify = { scheme = "shopify", throttling_rate_limit = 50, throttling_burst_limit = 100 }
    slack   = { scheme = "slack", content_types = ["application/json", "application/x-www-form-urlencoded"], timestamp_tolerance_seconds = 300 }
    billing = { scheme = "standard_webhooks" }
    partner = {
      scheme             = "hmac_sha256"
      signature_header   = "X-Partner-Signature"
      signature_encoding = "base64"
      signature_prefix   = "sha256="
      delivery_id_header = "X-Partner-Delivery"
      event_type_header  = "X-Partner-Event"
      allowed_cidrs      = var.partner_cidrs
    }
    internal = { scheme = "none", content_types = ["application/json", "text/plain"] }
  }

  queue_max_receive_count          = var.queue_max_receive_count
  processor_batch_size             = 10
  processor_maximum_concurrency    = 20
  history_retention_days           = 30
  history_deletion_protection      = false
  alarm_emails                     = var.alarm_emails
  alarm_oldest_message_age_seconds = 600
}
