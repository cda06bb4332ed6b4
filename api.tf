locals {
  # method_response/integration_response status codes. The integration-response
  # templates set the final status themselves ($context.responseOverride), so
  # each status they can produce needs a method response too.
  method_statuses = ["200", "400", "413", "500", "502", "503"]

  # selection_pattern is a regex over SQS's HTTP status for AWS integrations.
  # The entry with no pattern is the catch-all, and it is an error: nothing but
  # a 2xx from SQS may ever answer 2xx.
  # Fail safe: every entry but the 2xx one is declared a 5xx, so whatever a
  # template does not override tells the sender to retry. The 4xx entry is
  # declared 503 and its template lowers it to 413/400 only on the sender faults
  # it recognises. Integration responses are keyed by status code, so the 5xx
  # entry cannot also be declared 503: it is declared 500, and its template
  # answers 503.
  integration_responses = {
    success      = { status = "200", pattern = "2\\d{2}", template = "response_success.vtl" }
    client_error = { status = "503", pattern = "4\\d{2}", template = "response_client_error.vtl" }
    server_error = { status = "500", pattern = "5\\d{2}", template = "response_server_error.vtl" }
    unmapped     = { status = "502", pattern = null, template = "response_unmapped.vtl" }
  }

  source_methods = {
    for pair in setproduct(keys(local.queue_sources), local.method_statuses) : "${pair[0]}:${pair[1]}" => {
      source = pair[0]
      status = pair[1]
    }
  }
  # A handshake source's method is a Lambda proxy integration (responder.tf): the function's
  # answer is the response, so it has no integration responses of its own.
  source_integration_responses = {
    for pair in setproduct([for name, s in local.queue_sources : name if !s.handshake], keys(local.integration_responses)) : "${pair[0]}:${pair[1]}" => merge(
      local.integration_responses[pair[1]], { source = pair[0] }
    )
  }

  # The template matches header names case-insensitively by comparing each
  # request header's name, lower-cased, with these: so they are passed lower-cased.
  request_template_bodies = {
    for name, s in local.queue_sources : name => templatefile("${path.module}/templates/sqs_send_message.vtl", {
      source             = name
      delivery_id_header = s.delivery_id_header == "-" ? "" : lower(s.delivery_id_header)
      signature_header   = s.signature_header == "-" ? "" : lower(s.signature_header)
      timestamp_header   = lower(s.timestamp_header)
      event_type_header  = s.event_type_header == "-" ? "" : lower(s.event_type_header)
    })
  }
  # Keyed by every spelling of each accepted content type (main.tf, template_content_types):
  # the same template for each.
  request_templates = {
    for name, types in local.template_content_types : name => {
      for ct in types : ct => local.request_template_bodies[name]
    }
  }
  response_templates = {
    for k, r in local.integration_responses : k => file("${path.module}/templates/${r.template}")
  }

  # Answers API Gateway gives itself, before any integration runs: JSON, with the
  # request id, like the integration's own answers.
  gateway_responses = {
    BAD_REQUEST_BODY             = { status = "400", error = "invalid_body", message = "The request body is not valid for its content type." }
    UNSUPPORTED_MEDIA_TYPE       = { status = "415", error = "unsupported_media_type", message = "This endpoint does not accept that Content-Type." }
    REQUEST_TOO_LARGE            = { status = "413", error = "payload_too_large", message = "The request body is too large." }
    THROTTLED                    = { status = "429", error = "throttled", message = "Too many requests; retry later." }
    ACCESS_DENIED                = { status = "403", error = "forbidden", message = "This sender is not allowed to post here." }
    MISSING_AUTHENTICATION_TOKEN = { status = "404", error = "not_found", message = "No webhook endpoint at this path and method." }
  }

  # One line per request, the same for both APIs (payload_api.tf), in one log group.
  access_log_format = jsonencode({
    apiId              = "$context.apiId"
    requestId          = "$context.requestId"
    requestTimeEpoch   = "$context.requestTimeEpoch"
    sourceIp           = "$context.identity.sourceIp"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    status             = "$context.status"
    responseLength     = "$context.responseLength"
    integrationStatus  = "$context.integration.status"
    integrationLatency = "$context.integration.latency"
    errorMessage       = "$context.error.message"
    userAgent          = "$context.identity.userAgent"
  })

  restricted_sources = { for name, s in local.queue_sources : name => s if length(s.allowed_cidrs) > 0 }
}

resource "aws_api_gateway_rest_api" "this" {
  count = local.create_queue_api ? 1 : 0

  name        = var.name
  description = "Webhook ingestion for ${var.name}: POST /webhooks/{source} -> SQS."
  # API Gateway's own limit (10 MB); the queue's size limit answers 413 below it.
  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  # checkov:skip=CKV_AWS_237:Replacing the API would change every sender's URL; the API is updated in place, and its deployments use create_before_destroy.
}

# Per-source CIDR allowlists. Sources without one stay open to every sender:
# they authenticate by signature, not by address.
data "aws_iam_policy_document" "api" {
  count = local.create_queue_api && length(local.restricted_sources) > 0 ? 1 : 0

  statement {
    sid       = "AllowInvoke"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.this[0].execution_arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.restricted_sources
    content {
      # Readable, and unique: foo-bar and foo_bar fold to the same letters, so a
      # hash of the exact key follows them.
      sid       = "Allowlist${replace(title(replace(statement.key, "/[-_]/", " ")), " ", "")}${substr(sha256(statement.key), 0, 8)}"
      effect    = "Deny"
      actions   = ["execute-api:Invoke"]
      resources = ["${aws_api_gateway_rest_api.this[0].execution_arn}/*/POST/webhooks/${statement.key}"]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      condition {
        test     = "NotIpAddress"
        variable = "aws:SourceIp"
        values   = statement.value.allowed_cidrs
      }
    }
  }
}

resource "aws_api_gateway_rest_api_policy" "this" {
  count = local.create_queue_api && length(local.restricted_sources) > 0 ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  policy      = data.aws_iam_policy_document.api[0].json
}

resource "aws_api_gateway_resource" "webhooks" {
  count = local.create_queue_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  parent_id   = aws_api_gateway_rest_api.this[0].root_resource_id
  path_part   = "webhooks"
}

resource "aws_api_gateway_resource" "source" {
  for_each = local.queue_sources

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  parent_id   = aws_api_gateway_resource.webhooks[0].id
  path_part   = each.key
}

# Malformed JSON is answered 400 at the edge and never queued.
resource "aws_api_gateway_model" "json_body" {
  count = local.create_queue_api ? 1 : 0

  rest_api_id  = aws_api_gateway_rest_api.this[0].id
  name         = "WebhookJsonBody"
  description  = "Any well-formed JSON object or array."
  content_type = "application/json"
  schema = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    title     = "WebhookJsonBody"
    type      = ["object", "array"]
  })
}

resource "aws_api_gateway_request_validator" "body" {
  count = local.create_queue_api ? 1 : 0

  rest_api_id           = aws_api_gateway_rest_api.this[0].id
  name                  = "body"
  validate_request_body = true
}

resource "aws_api_gateway_method" "this" {
  for_each = local.queue_sources

  rest_api_id   = aws_api_gateway_rest_api.this[0].id
  resource_id   = aws_api_gateway_resource.source[each.key].id
  http_method   = "POST"
  authorization = "NONE"

  request_validator_id = aws_api_gateway_request_validator.body[0].id
  # Every spelling of application/json (with or without a charset) is validated as JSON.
  request_models = {
    for ct in local.template_content_types[each.key] : ct => aws_api_gateway_model.json_body[0].name
    if lower(trimspace(split(";", ct)[0])) == "application/json"
  }

  # checkov:skip=CKV_AWS_59:Webhook senders (Stripe, GitHub, ...) cannot present AWS credentials or API keys; each delivery is authenticated by its HMAC signature in the processor, and allowed_cidrs adds a network allowlist.
  # checkov:skip=CKV2_AWS_53:Request validation is on (body validator with a JSON model); the checker does not see validators set by reference.
}

resource "aws_api_gateway_integration" "this" {
  for_each = local.queue_sources

  rest_api_id             = aws_api_gateway_rest_api.this[0].id
  resource_id             = aws_api_gateway_resource.source[each.key].id
  http_method             = aws_api_gateway_method.this[each.key].http_method
  integration_http_method = "POST"
  # A handshake source's requests go to its responder function (responder.tf), which answers the
  # endpoint check and sends everything else to the queue as the template would.
  type = each.value.handshake ? "AWS_PROXY" : "AWS"
  uri = (each.value.handshake
    ? aws_lambda_function.responder[each.key].invoke_arn
    : "arn:${local.partition}:apigateway:${local.region}:sqs:path/${local.account_id}/${aws_sqs_queue.this[0].name}"
  )
  credentials = each.value.handshake ? null : aws_iam_role.apigateway[0].arn
  request_parameters = each.value.handshake ? {} : {
    "integration.request.header.Content-Type" = "'application/x-www-form-urlencoded'"
  }
  request_templates = each.value.handshake ? {} : local.request_templates[each.key]
  # A content type with no template is refused (415), never passed through raw. A proxy
  # integration has no templates: the method's content types and models still apply.
  passthrough_behavior = each.value.handshake ? "WHEN_NO_MATCH" : "NEVER"
}

resource "aws_api_gateway_method_response" "this" {
  for_each = local.source_methods

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  resource_id = aws_api_gateway_resource.source[each.value.source].id
  http_method = aws_api_gateway_method.this[each.value.source].http_method
  status_code = each.value.status
  response_models = {
    "application/json" = "Empty"
  }
}

resource "aws_api_gateway_integration_response" "this" {
  for_each = local.source_integration_responses

  rest_api_id       = aws_api_gateway_rest_api.this[0].id
  resource_id       = aws_api_gateway_resource.source[each.value.source].id
  http_method       = aws_api_gateway_method.this[each.value.source].http_method
  status_code       = aws_api_gateway_method_response.this["${each.value.source}:${each.value.status}"].status_code
  selection_pattern = each.value.pattern
  response_templates = {
    "application/json" = local.response_templates[split(":", each.key)[1]]
  }

  depends_on = [aws_api_gateway_integration.this]
}

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.create_queue_api ? local.gateway_responses : {}

  rest_api_id   = aws_api_gateway_rest_api.this[0].id
  response_type = each.key
  status_code   = each.value.status
  response_templates = {
    "application/json" = jsonencode({
      error      = each.value.error
      message    = each.value.message
      request_id = "$context.requestId"
    })
  }
}

resource "aws_api_gateway_deployment" "this" {
  count = local.create_queue_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  description = "Webhook API for ${var.name}"

  # Redeploy when anything the stage serves changes. Whole resource objects are
  # not hashed: moto (and AWS on refresh) add empty defaults such as
  # cache_key_parameters = [], which would redeploy on every plan. So the hash
  # covers ids plus every setting this module configures.
  triggers = {
    redeployment = sha1(jsonencode([
      [for k, r in aws_api_gateway_resource.source : [k, r.id, r.path_part]],
      [for k, m in aws_api_gateway_method.this : [k, m.id, m.authorization, m.request_validator_id, m.request_models]],
      [for k, i in aws_api_gateway_integration.this : [k, i.id, i.type, i.uri, i.credentials, i.request_parameters, i.request_templates, i.passthrough_behavior]],
      [for k, r in aws_api_gateway_method_response.this : [k, r.id, r.status_code]],
      [for k, r in aws_api_gateway_integration_response.this : [k, r.id, r.status_code, r.selection_pattern, r.response_templates]],
      [for k, r in aws_api_gateway_gateway_response.this : [k, r.id, r.status_code, r.response_templates]],
      aws_api_gateway_model.json_body[0].schema,
      [aws_api_gateway_request_validator.body[0].id, aws_api_gateway_request_validator.body[0].validate_request_body],
      [for p in aws_api_gateway_rest_api_policy.this : p.policy],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  count = local.create && var.create_access_logs ? 1 : 0

  name              = "/aws/apigateway/${var.name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags

  # checkov:skip=CKV_AWS_338:Retention is an input (log_retention_days, default 30): access logs are operational, and the durable record of every webhook is the history table.
}

resource "aws_api_gateway_stage" "this" {
  count = local.create_queue_api ? 1 : 0

  rest_api_id          = aws_api_gateway_rest_api.this[0].id
  deployment_id        = aws_api_gateway_deployment.this[0].id
  stage_name           = var.stage_name
  xray_tracing_enabled = var.xray_tracing_enabled

  dynamic "access_log_settings" {
    for_each = var.create_access_logs ? [1] : []
    content {
      destination_arn = aws_cloudwatch_log_group.access[0].arn
      format          = local.access_log_format
    }
  }

  tags = var.tags

  # checkov:skip=CKV_AWS_120:Caching would answer a webhook without queueing it.
  # checkov:skip=CKV_AWS_73:X-Ray is an input (xray_tracing_enabled) because it bills per trace; off by default.
  # checkov:skip=CKV2_AWS_4:Execution logging needs the account-wide API Gateway CloudWatch role, which a module must not manage; access logs (create_access_logs) need it too, so they are off by default and the README shows the one-time role.
  # checkov:skip=CKV2_AWS_51:Webhook senders do not present client certificates.
  # checkov:skip=CKV2_AWS_29:WAF is an account-level choice with its own cost; attach a web ACL to the stage ARN output if you use one.
}

resource "aws_api_gateway_method_settings" "all" {
  count = local.create_queue_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  stage_name  = aws_api_gateway_stage.this[0].stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.stage_throttling_rate_limit
    throttling_burst_limit = var.stage_throttling_burst_limit
  }

  # checkov:skip=CKV_AWS_225:Caching would answer a webhook without queueing it.
  # checkov:skip=CKV_AWS_308:Caching is off, so there is no cache to encrypt.
}

resource "aws_api_gateway_method_settings" "source" {
  for_each = { for name, s in local.queue_sources : name => s if s.throttling_rate_limit != null }

  rest_api_id = aws_api_gateway_rest_api.this[0].id
  stage_name  = aws_api_gateway_stage.this[0].stage_name
  method_path = "webhooks/${each.key}/POST"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = each.value.throttling_rate_limit
    throttling_burst_limit = each.value.throttling_burst_limit
  }

  # checkov:skip=CKV_AWS_225:Caching would answer a webhook without queueing it.
  # checkov:skip=CKV_AWS_308:Caching is off, so there is no cache to encrypt.
}
