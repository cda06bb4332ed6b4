locals {
  create = var.create

  # Headers each scheme's senders use (docs/message-contract.md). The VTL template
  # forwards their values as SQS message attributes.
  scheme_headers = {
    stripe            = { signature = "Stripe-Signature", timestamp = "", delivery_id = "", event_type = "" }
    github            = { signature = "X-Hub-Signature-256", timestamp = "", delivery_id = "X-GitHub-Delivery", event_type = "X-GitHub-Event" }
    shopify           = { signature = "X-Shopify-Hmac-Sha256", timestamp = "", delivery_id = "X-Shopify-Webhook-Id", event_type = "X-Shopify-Topic" }
    slack             = { signature = "X-Slack-Signature", timestamp = "X-Slack-Request-Timestamp", delivery_id = "", event_type = "" }
    standard_webhooks = { signature = "webhook-signature", timestamp = "webhook-timestamp", delivery_id = "webhook-id", event_type = "" }
    hmac_sha256       = { signature = "", timestamp = "", delivery_id = "", event_type = "" }
    none              = { signature = "", timestamp = "", delivery_id = "", event_type = "" }
  }

  sources = local.create ? {
    for name, s in var.sources : name => merge(s, {
      signature_header   = coalesce(s.signature_header, local.scheme_headers[s.scheme].signature, "-")
      timestamp_header   = local.scheme_headers[s.scheme].timestamp
      delivery_id_header = coalesce(s.delivery_id_header, local.scheme_headers[s.scheme].delivery_id, "-")
      event_type_header  = coalesce(s.event_type_header, local.scheme_headers[s.scheme].event_type, "-")
      verified           = s.scheme != "none"
    })
  } : {}

  # Sources whose secret the module creates (empty, for the operator to fill).
  managed_secret_sources = { for name, s in local.sources : name => s if s.verified && s.secret_arn == null }
  secret_arns = {
    for name, s in local.sources : name => (
      s.secret_arn != null ? s.secret_arn : aws_secretsmanager_secret.this[name].arn
    ) if s.verified
  }

  # Region, account and partition come from the queue's ARN, so the module needs
  # no data sources (and no aws_region attribute that differs between 5.x and 6.x).
  queue_arn_parts = local.create ? split(":", aws_sqs_queue.this[0].arn) : []
  partition       = local.create ? local.queue_arn_parts[1] : ""
  region          = local.create ? local.queue_arn_parts[3] : ""
  account_id      = local.create ? local.queue_arn_parts[4] : ""

  queue_visibility_timeout_seconds = coalesce(var.queue_visibility_timeout_seconds, 6 * var.processor_timeout)

  processor_function_name = "${var.name}-processor"
}
