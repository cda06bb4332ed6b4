################################################################################
# The payloads API (issue 14): sources with payload_store = "s3". Their method writes the
# raw body into the payload store with S3 PutObject, and the bucket notifies the main queue.
#
# A second REST API, because binaryMediaTypes is API-wide and matched against the request's
# Content-Type (AWS, "Content type conversions in API Gateway"): here every body must pass
# as bytes ("*/*"), so that a body that is not UTF-8 reaches S3 unchanged, while the queue
# API's template must read the same application/json bodies as text.
################################################################################

locals {
  # Object metadata (x-amz-meta-<name>) -> the request header it is copied from, per source:
  # the scheme's headers, the same ones the queue template reads. "-" and "" mean none.
  payload_metadata_headers = {
    for name, s in local.payload_api_sources : name => {
      for meta, header in {
        "signature"           = s.signature_header
        "signature-timestamp" = s.timestamp_header
        "delivery-id"         = s.delivery_id_header
        "event-type"          = s.event_type_header
      } : meta => header if header != "" && header != "-"
    }
  }

  # The object key is ingest/<source>/<request id>: unique per request, so a sender's retry
  # is a second object, and the processor's dedup makes it a counted duplicate.
  payload_integration_parameters = {
    for name, headers in local.payload_metadata_headers : name => merge(
      {
        "integration.request.path.key"                         = "context.requestId"
        "integration.request.header.Content-Type"              = "method.request.header.Content-Type"
        "integration.request.header.x-amz-meta-source"         = "'${name}'"
        "integration.request.header.x-amz-meta-request-id"     = "context.requestId"
        "integration.request.header.x-amz-meta-received-at-ms" = "context.requestTimeEpoch"
        "integration.request.header.x-amz-meta-source-ip"      = "context.identity.sourceIp"
      },
      { for meta, header in headers : "integration.request.header.x-amz-meta-${meta}" => "method.request.header.${header}" },
    )
  }

  payload_method_statuses = ["200", "503"]
  payload_methods = {
    for pair in setproduct(keys(local.payload_api_sources), local.payload_method_statuses) : "${pair[0]}:${pair[1]}" => {
      source = pair[0]
      status = pair[1]
    }
  }
  # Statuses are declared here, not by a template's override: S3's 2xx is the only 200, and
  # anything else (S3 throttling, an outage, a denied write) is 503, so the sender retries.
  payload_integration_responses = {
    success = { status = "200", pattern = "2\\d{2}", template = "s3_response_success.vtl" }
    error   = { status = "503", pattern = null, template = "s3_response_error.vtl" }
  }
  payload_source_integration_responses = {
    for pair in setproduct(keys(local.payload_api_sources), keys(local.payload_integration_responses)) : "${pair[0]}:${pair[1]}" => merge(
      local.payload_integration_responses[pair[1]], { source = pair[0] }
    )
  }

  payload_restricted_sources = { for name, s in local.payload_api_sources : name => s if length(s.allowed_cidrs) > 0 }
}

resource "aws_api_gateway_rest_api" "payloads" {
  count = local.create_payload_api ? 1 : 0

  name               = "${var.name}-payloads"
  description        = "Webhook ingestion for ${var.name}: POST /webhooks/{source} -> the payload store (S3), for bodies kept byte-exact."
  binary_media_types = ["*/*"]
  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  # checkov:skip=CKV_AWS_237:Replacing the API would change every sender's URL; the API is updated in place, and its deployments use create_before_destroy.
}

data "aws_iam_policy_document" "payload_api" {
  count = local.create_payload_api && length(local.payload_restricted_sources) > 0 ? 1 : 0

  statement {
    sid       = "AllowInvoke"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.payloads[0].execution_arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.payload_restricted_sources
    content {
      sid       = "Allowlist${replace(title(replace(statement.key, "/[-_]/", " ")), " ", "")}${substr(sha256(statement.key), 0, 8)}"
      effect    = "Deny"
      actions   = ["execute-api:Invoke"]
      resources = ["${aws_api_gateway_rest_api.payloads[0].execution_arn}/*/POST/webhooks/${statement.key}"]
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

resource "aws_api_gateway_rest_api_policy" "payloads" {
  count = local.create_payload_api && length(local.payload_restricted_sources) > 0 ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.payloads[0].id
  policy      = data.aws_iam_policy_document.payload_api[0].json
}

resource "aws_api_gateway_resource" "payloads_webhooks" {
  count = local.create_payload_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.payloads[0].id
  parent_id   = aws_api_gateway_rest_api.payloads[0].root_resource_id
  path_part   = "webhooks"
}

resource "aws_api_gateway_resource" "payloads" {
  for_each = local.payload_api_sources

  rest_api_id = aws_api_gateway_rest_api.payloads[0].id
  parent_id   = aws_api_gateway_resource.payloads_webhooks[0].id
  path_part   = each.key
}

resource "aws_api_gateway_method" "payloads" {
  for_each = local.payload_api_sources

  rest_api_id   = aws_api_gateway_rest_api.payloads[0].id
  resource_id   = aws_api_gateway_resource.payloads[each.key].id
  http_method   = "POST"
  authorization = "NONE"

  # Optional: a header the request does not carry is left out of the PutObject, and the
  # processor then finds no such metadata (a missing signature is rejected there).
  request_parameters = {
    for header in concat(["Content-Type"], values(local.payload_metadata_headers[each.key])) : "method.request.header.${header}" => false
  }

  # checkov:skip=CKV_AWS_59:Webhook senders (Stripe, GitHub, ...) cannot present AWS credentials or API keys; each delivery is authenticated by its HMAC signature in the processor, and allowed_cidrs adds a network allowlist.
  # checkov:skip=CKV2_AWS_53:The body is stored as bytes, whatever it is: the processor verifies its signature over those bytes and records a body that is not the JSON it expects as invalid, so no edge validator may refuse or alter it.
}

resource "aws_api_gateway_integration" "payloads" {
  for_each = local.payload_api_sources

  rest_api_id             = aws_api_gateway_rest_api.payloads[0].id
  resource_id             = aws_api_gateway_resource.payloads[each.key].id
  http_method             = aws_api_gateway_method.payloads[each.key].http_method
  type                    = "AWS"
  integration_http_method = "PUT"
  uri                     = "arn:${local.partition}:apigateway:${local.region}:s3:path/${aws_s3_bucket.payloads[0].bucket}/ingest/${each.key}/{key}"
  credentials             = aws_iam_role.apigateway[0].arn
  request_parameters      = local.payload_integration_parameters[each.key]
  # No request template: the body goes to S3 as received (binary, binary_media_types above).
  passthrough_behavior = "WHEN_NO_MATCH"
}

resource "aws_api_gateway_method_response" "payloads" {
  for_each = local.payload_methods

  rest_api_id = aws_api_gateway_rest_api.payloads[0].id
  resource_id = aws_api_gateway_resource.payloads[each.value.source].id
  http_method = aws_api_gateway_method.payloads[each.value.source].http_method
  status_code = each.value.status
  response_models = {
    "application/json" = "Empty"
  }
}

resource "aws_api_gateway_integration_response" "payloads" {
  for_each = local.payload_source_integration_responses

  rest_api_id       = aws_api_gateway_rest_api.payloads[0].id
  resource_id       = aws_api_gateway_resource.payloads[each.value.source].id
  http_method       = aws_api_gateway_method.payloads[each.value.source].http_method
  status_code       = aws_api_gateway_method_response.payloads["${each.value.source}:${each.value.status}"].status_code
  selection_pattern = each.value.pattern
  # Under binary_media_types "*/*" every Accept (GitHub sends */*) makes the response binary,
  # and a template cannot be rendered over bytes: API Gateway would answer 500 after the PUT
  # ("Content type conversions in API Gateway", the response table). As text (S3's answer
  # base64-encoded, which the templates do not read), the templates render.
  content_handling = "CONVERT_TO_TEXT"
  response_templates = {
    "application/json" = file("${path.module}/templates/${each.value.template}")
  }

  depends_on = [aws_api_gateway_integration.payloads]
}

resource "aws_api_gateway_gateway_response" "payloads" {
  for_each = local.create_payload_api ? local.gateway_responses : {}

  rest_api_id   = aws_api_gateway_rest_api.payloads[0].id
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

resource "aws_api_gateway_deployment" "payloads" {
  count = local.create_payload_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.payloads[0].id
  description = "Payloads API for ${var.name}"

  # As for the queue API (api.tf): ids plus every setting the module configures.
  triggers = {
    redeployment = sha1(jsonencode([
      [for k, r in aws_api_gateway_resource.payloads : [k, r.id, r.path_part]],
      [for k, m in aws_api_gateway_method.payloads : [k, m.id, m.authorization, m.request_parameters]],
      [for k, i in aws_api_gateway_integration.payloads : [k, i.id, i.uri, i.credentials, i.request_parameters, i.passthrough_behavior]],
      [for k, r in aws_api_gateway_method_response.payloads : [k, r.id, r.status_code]],
      [for k, r in aws_api_gateway_integration_response.payloads : [k, r.id, r.status_code, r.selection_pattern, r.response_templates, r.content_handling]],
      [for k, r in aws_api_gateway_gateway_response.payloads : [k, r.id, r.status_code, r.response_templates]],
      aws_api_gateway_rest_api.payloads[0].binary_media_types,
      [for p in aws_api_gateway_rest_api_policy.payloads : p.policy],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "payloads" {
  count = local.create_payload_api ? 1 : 0

  rest_api_id          = aws_api_gateway_rest_api.payloads[0].id
  deployment_id        = aws_api_gateway_deployment.payloads[0].id
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

  # checkov:skip=CKV_AWS_120:Caching would answer a webhook without storing it.
  # checkov:skip=CKV_AWS_73:X-Ray is an input (xray_tracing_enabled) because it bills per trace; off by default.
  # checkov:skip=CKV2_AWS_4:Execution logging needs the account-wide API Gateway CloudWatch role, which a module must not manage; access logs (create_access_logs) need it too, so they are off by default and the README shows the one-time role.
  # checkov:skip=CKV2_AWS_51:Webhook senders do not present client certificates.
  # checkov:skip=CKV2_AWS_29:WAF is an account-level choice with its own cost; attach a web ACL to the payload_stage_arn output if you use one.
}

resource "aws_api_gateway_method_settings" "payloads_all" {
  count = local.create_payload_api ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.payloads[0].id
  stage_name  = aws_api_gateway_stage.payloads[0].stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.stage_throttling_rate_limit
    throttling_burst_limit = var.stage_throttling_burst_limit
  }

  # checkov:skip=CKV_AWS_225:Caching would answer a webhook without storing it.
  # checkov:skip=CKV_AWS_308:Caching is off, so there is no cache to encrypt.
}

resource "aws_api_gateway_method_settings" "payloads_source" {
  for_each = { for name, s in local.payload_api_sources : name => s if s.throttling_rate_limit != null }

  rest_api_id = aws_api_gateway_rest_api.payloads[0].id
  stage_name  = aws_api_gateway_stage.payloads[0].stage_name
  method_path = "webhooks/${each.key}/POST"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = each.value.throttling_rate_limit
    throttling_burst_limit = each.value.throttling_burst_limit
  }

  # checkov:skip=CKV_AWS_225:Caching would answer a webhook without storing it.
  # checkov:skip=CKV_AWS_308:Caching is off, so there is no cache to encrypt.
}
