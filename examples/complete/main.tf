# Every source kind, a sender allowlist, per-source throttling, alarm emails,
# access logs and tags, the payload store for bodies above 64 KiB, two sources whose
# bodies go to the payload store at the edge (up to 10 MB, any bytes), and three consumers
# of the event topic (consumers.tf). The tests and `make demo` apply this example.
# github and slack take their scheme's default content types (JSON and form).
provider "aws" {
  region = var.region
}

module "webhooks" {
  source = "../.."

  name = var.name
  tags = var.tags

  sources = {
    stripe  = { scheme = "stripe", alert_after_silence_seconds = 3600 } # an alarm after an hour without a processed event
    github  = { scheme = "github" }
    shopify = { scheme = "shopify", throttling_rate_limit = 50, throttling_burst_limit = 100 }
    slack   = { scheme = "slack", timestamp_tolerance_seconds = 300 }
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
    # Bodies past the queue's limit, kept byte-exact: the edge writes them to the payload store
    # (payload_store = "s3", served by the payloads API), up to API Gateway's 10 MB.
    monorepo = { scheme = "github", payload_store = "s3" } # push events of a large monorepo
    exports = {                                            # a partner's binary exports
      scheme             = "hmac_sha256"
      signature_header   = "X-Export-Signature"
      delivery_id_header = "X-Export-Id"
      payload_store      = "s3"
    }
  }

  # Access logs need the region's API Gateway CloudWatch Logs role (aws_api_gateway_account,
  # set once per account and region: see the README). The local account needs none.
  create_access_logs = true

  processor_enabled                = var.processor_enabled
  queue_max_receive_count          = var.queue_max_receive_count
  processor_batch_size             = 10
  processor_maximum_concurrency    = 20
  history_retention_days           = 30
  history_deletion_protection      = false # an example is destroyed again; keep the default (true) for real history
  secret_recovery_window_days      = var.secret_recovery_window_days
  role_path                        = "/webhooks/"
  replay_principal_arns            = var.replay_principal_arns
  alarm_emails                     = var.alarm_emails
  alarm_oldest_message_age_seconds = 600

  # Bodies above 64 KiB (up to the queue's 256 KiB) go to the payload store, and the row
  # points at them: the tests' and the reliability stream's large bodies take that path.
  history_max_stored_body_bytes = 65536
  payload_store_force_destroy   = true # an example is destroyed again, objects and all; keep false for real bodies

  # Three consumers with different filters (modules/consumer):
  #   payments:      Stripe and billing payment and invoice events, to the example
  #                  function (consumers.tf), which fails events without an amount: after
  #                  3 receives they are in the payments DLQ;
  #   repo-activity: GitHub issues and pull requests that were opened (a body filter),
  #                  for a queue another team drains;
  #   audit:         every event.
  consumers = {
    payments = {
      sources            = ["stripe", "billing"]
      event_types        = ["payment_intent.*", "invoice.*"]
      max_receive_count  = 3
      enabled            = var.payments_consumer_enabled
      function_name      = aws_lambda_function.payments.function_name
      function_role_name = aws_iam_role.payments.name
    }
    repo-activity = {
      sources     = ["github"]
      event_types = ["issues", "pull_request"]
      body_filter = { action = ["opened"] }
    }
    audit = {}
  }
}
