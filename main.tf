locals {
  create = var.create

  # Headers each scheme's senders use (docs/message-contract.md). The VTL template
  # forwards their values as SQS message attributes.
  scheme_headers = {
    stripe            = { signature = "Stripe-Signature", timestamp = "", delivery_id = "", event_type = "" }
    github            = { signature = "X-Hub-Signature-256", timestamp = "", delivery_id = "X-GitHub-Delivery", event_type = "X-GitHub-Event" }
    shopify           = { signature = "X-Shopify-Hmac-Sha256", timestamp = "", delivery_id = "X-Shopify-Webhook-Id", event_type = "X-Shopify-Topic" }
    slack             = { signature = "X-Slack-Signature", timestamp = "X-Slack-Request-Timestamp", delivery_id = "", event_type = "" }
    zoom              = { signature = "x-zm-signature", timestamp = "x-zm-request-timestamp", delivery_id = "", event_type = "" }
    standard_webhooks = { signature = "webhook-signature", timestamp = "webhook-timestamp", delivery_id = "webhook-id", event_type = "" }
    hmac_sha256       = { signature = "", timestamp = "", delivery_id = "", event_type = "" }
    none              = { signature = "", timestamp = "", delivery_id = "", event_type = "" }
  }

  # Content types each scheme's senders use, for a source that leaves content_types
  # unset (null). From each provider's documentation:
  #   github: a hook's content_type is json (application/json) or form
  #     (application/x-www-form-urlencoded, the JSON in a `payload` field), and the
  #     REST API's default is form (docs.github.com, "Creating webhooks" and "Create a
  #     repository webhook": config.content_type);
  #   slack: slash commands and interactivity payloads are sent as
  #     application/x-www-form-urlencoded, the Events API posts application/json
  #     (api.slack.com / docs.slack.dev: "Implementing slash commands", "Handling user
  #     interaction", "Events API");
  #   zoom: JSON event notifications (developers.zoom.us, "Using webhooks");
  #   stripe, standard_webhooks: JSON bodies (application/json); shopify: JSON (a
  #     subscription can choose XML, which no source accepts);
  #   hmac_sha256, none: our own senders; JSON unless content_types says otherwise.
  scheme_content_types = {
    stripe            = ["application/json"]
    github            = ["application/json", "application/x-www-form-urlencoded"]
    shopify           = ["application/json"]
    slack             = ["application/json", "application/x-www-form-urlencoded"]
    zoom              = ["application/json"]
    standard_webhooks = ["application/json"]
    hmac_sha256       = ["application/json"]
    none              = ["application/json"]
  }

  # The spellings of each accepted media type that request templates and request models are
  # keyed by. Senders add a charset: Stripe's webhook requests carry `Content-Type:
  # application/json; charset=utf-8` (issue 12), and HTTP libraries write the parameter
  # with and without the space, in either case. AWS does not document whether API Gateway selects a template by the exact
  # Content-Type string or by the media type with its parameters dropped: under either
  # reading these spellings select the same template, so a sender that adds the charset is
  # never refused (docs/message-contract.md, "Content types"). A user-given content type
  # that already has parameters is kept as given.
  charset_suffixes = ["", "; charset=utf-8", ";charset=utf-8", "; charset=UTF-8", ";charset=UTF-8"]

  sources = local.create ? {
    for name, s in var.sources : name => merge(s, {
      signature_header   = coalesce(s.signature_header, local.scheme_headers[s.scheme].signature, "-")
      timestamp_header   = local.scheme_headers[s.scheme].timestamp
      delivery_id_header = coalesce(s.delivery_id_header, local.scheme_headers[s.scheme].delivery_id, "-")
      event_type_header  = coalesce(s.event_type_header, local.scheme_headers[s.scheme].event_type, "-")
      content_types      = s.content_types != null ? s.content_types : local.scheme_content_types[s.scheme]
      verified           = s.scheme != "none"
    })
  } : {}

  # Where each source's body goes (variables.tf, payload_store): in the SQS message, through the
  # queue API (api.tf), or into the payload store, through the payloads API (payload_api.tf).
  queue_sources    = { for name, s in local.sources : name => s if s.payload_store == "queue" }
  s3_sources       = { for name, s in local.sources : name => s if s.payload_store == "s3" }
  create_queue_api = local.create && length(local.queue_sources) > 0
  # Without the store there is nothing to write to: the DLQ's precondition (sqs.tf) refuses that.
  create_payload_api = local.create && var.create_payload_store && length(local.s3_sources) > 0
  # Sources whose method is the responder function (responder.tf): it answers the provider's
  # endpoint check itself and queues everything else.
  handshake_sources = { for name, s in local.queue_sources : name => s if s.handshake }
  # The sources the payloads API serves: none when it is not created.
  payload_api_sources = local.create_payload_api ? local.s3_sources : {}

  # Per queue source: every Content-Type string a template (and, for JSON, the model) is keyed by.
  template_content_types = {
    for name, s in local.queue_sources : name => distinct(flatten([
      for ct in s.content_types : length(regexall(";", ct)) > 0 ? [ct] : [for suffix in local.charset_suffixes : "${ct}${suffix}"]
    ]))
  }

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
