################################################################################
# Responders (issue 15): sources with handshake = true. Slack and Zoom check an endpoint
# synchronously before (Zoom: every 72 hours while) they send events, and expect an answer only
# code can give: Slack's challenge echoed, Zoom's plainToken HMAC'd with the secret. A queue-first
# method cannot answer either, so such a source's method is a Lambda proxy integration to a small
# function that verifies the signature, answers the handshake, and sends every other request to
# the queue with exactly the message the request template makes (docs/message-contract.md).
#
# One function per handshake source, each with its own role: SendMessage on the main queue and
# that source's secret only. The code is the processor's zip (lambda/), so verification is the
# same code on both paths.
################################################################################

locals {
  responder_function_names = { for name, s in local.handshake_sources : name => "${var.name}-responder-${name}" }
  responder_role_names     = { for name, s in local.handshake_sources : name => "${var.name}-${local.role_region}-resp-${name}" }

  # The headers the request template reads for the source (api.tf, request_template_bodies):
  # lower-cased, "" for none, so both paths put the same values in the same attributes.
  responder_headers = {
    for name, s in local.handshake_sources : name => {
      SIGNATURE_HEADER   = s.signature_header == "-" ? "" : lower(s.signature_header)
      TIMESTAMP_HEADER   = lower(s.timestamp_header)
      DELIVERY_ID_HEADER = s.delivery_id_header == "-" ? "" : lower(s.delivery_id_header)
      EVENT_TYPE_HEADER  = s.event_type_header == "-" ? "" : lower(s.event_type_header)
    }
  }
  # The media types the source accepts: without templates, the function refuses the rest (415).
  responder_content_types = {
    for name, s in local.handshake_sources : name => distinct([for ct in s.content_types : lower(trimspace(split(";", ct)[0]))])
  }
}

data "aws_iam_policy_document" "responder" {
  for_each = local.handshake_sources

  statement {
    sid       = "SendToQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[0].arn]
  }

  statement {
    sid       = "ReadSigningSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.secret_arns[each.key]]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.responder[each.key].arn}:*"]
  }

  # Decrypt: the secret. GenerateDataKey: a message on the queue encrypted with the same key.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "UseCustomerKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
    }
  }

  # X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
  dynamic "statement" {
    for_each = var.xray_tracing_enabled ? [1] : []
    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role" "responder" {
  for_each = local.handshake_sources

  name                 = local.responder_role_names[each.key]
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  description          = "Execution role of the ${var.name} responder for source ${each.key}: answers its endpoint check, queues its webhooks."
  assume_role_policy   = data.aws_iam_policy_document.assume["processor"].json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.responder_role_names[each.key]) <= 64
      error_message = "The IAM role name ${local.responder_role_names[each.key]} has ${length(local.responder_role_names[each.key])} characters; IAM allows 64 (name + \"-\" + region + \"-resp-\" + source). Shorten name or the source key ${each.key}."
    }
  }
}

resource "aws_iam_role_policy" "responder" {
  for_each = local.handshake_sources

  name   = "respond-and-queue"
  role   = aws_iam_role.responder[each.key].id
  policy = data.aws_iam_policy_document.responder[each.key].json
}

resource "aws_cloudwatch_log_group" "responder" {
  for_each = local.handshake_sources

  name              = "/aws/lambda/${local.responder_function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags

  # checkov:skip=CKV_AWS_338:Retention is an input (log_retention_days, default 30); the durable record of every webhook is the history table.
}

resource "aws_lambda_function" "responder" {
  for_each = local.handshake_sources

  function_name    = local.responder_function_names[each.key]
  description      = "Answers ${each.value.scheme}'s endpoint check for source ${each.key} and queues its webhooks (${var.name})."
  role             = aws_iam_role.responder[each.key].arn
  runtime          = var.processor_runtime
  handler          = "webhook_processor.responder.lambda_handler"
  filename         = module.package.output_path
  source_code_hash = module.package.output_base64sha256
  # The sender waits for the answer: API Gateway gives an integration 29 s at most.
  memory_size = 256
  timeout     = 10
  kms_key_arn = var.kms_key_arn

  environment {
    variables = merge(local.responder_headers[each.key], {
      QUEUE_URL                = aws_sqs_queue.this[0].url
      SOURCE_NAME              = each.key
      WEBHOOK_SOURCES_FILE     = local.processor_sources_file
      CONTENT_TYPES            = jsonencode(local.responder_content_types[each.key])
      SECRET_CACHE_TTL_SECONDS = "300"
      LOG_LEVEL                = var.processor_log_level
    })
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.responder[each.key].name
    application_log_level = var.processor_log_level
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = var.xray_tracing_enabled ? "Active" : "PassThrough"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.responder]

  # checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway: a failure is the sender's 5xx, and the sender retries; a Lambda DLQ only applies to asynchronous invocations.
  # checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SQS, Secrets Manager); a VPC would add NAT or endpoints with no isolation gain.
  # checkov:skip=CKV_AWS_115:Concurrency follows the stage's throttling (per source: throttling_rate_limit); reserving it would take it from the account's other functions.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the module cannot create for its users; the package hash is pinned by source_code_hash.
  # checkov:skip=CKV_AWS_173:The environment holds no secrets (only names, URLs and ARNs); pass kms_key_arn to encrypt it with your own key.
}

resource "aws_lambda_permission" "responder" {
  for_each = local.handshake_sources

  statement_id  = "AllowWebhookApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.responder[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  # This source's method only.
  source_arn = "${aws_api_gateway_rest_api.this[0].execution_arn}/*/POST/webhooks/${each.key}"
}
