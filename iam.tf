locals {
  role_principals = local.create ? {
    apigateway = "apigateway.amazonaws.com"
    processor  = "lambda.amazonaws.com"
  } : {}

  # IAM role names are global to the account, so a second region with the same
  # `name` would clash: the names carry the region. It comes from the DLQ's ARN
  # (the first resource the module creates), like local.region does from the main
  # queue's: no aws_region data source, whose region attribute 5.100 lacks and
  # whose name and id 6.x deprecates. The names are therefore known once the DLQ
  # exists, not in the very first plan.
  role_region = local.create ? split(":", aws_sqs_queue.dlq[0].arn)[3] : ""
  role_names = {
    apigateway = "${var.name}-${local.role_region}-apigw-sqs"
    processor  = "${var.name}-${local.role_region}-processor"
  }
}

data "aws_iam_policy_document" "assume" {
  for_each = local.role_principals

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value]
    }
  }
}

################################################################################
# API Gateway -> SQS
################################################################################

resource "aws_iam_role" "apigateway" {
  count = local.create ? 1 : 0

  name                 = local.role_names.apigateway
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  description          = "Lets the ${var.name} webhook APIs send messages to its queue and store bodies in its payload store."
  assume_role_policy   = data.aws_iam_policy_document.assume["apigateway"].json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.role_names.apigateway) <= 64
      error_message = "The IAM role name ${local.role_names.apigateway} has ${length(local.role_names.apigateway)} characters; IAM allows 64 (name + \"-\" + region + \"-apigw-sqs\"). Shorten name to at most ${64 - 11 - length(local.role_region)} characters."
    }
  }
}

data "aws_iam_policy_document" "apigateway" {
  count = local.create ? 1 : 0

  statement {
    sid       = "SendToQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[0].arn]
  }

  # The payloads API (payload_api.tf): each s3 source's method writes under its own prefix only.
  dynamic "statement" {
    for_each = local.create_payload_api ? [1] : []
    content {
      sid       = "StorePayloads"
      actions   = ["s3:PutObject"]
      resources = [for name in sort(keys(local.payload_api_sources)) : "${aws_s3_bucket.payloads[0].arn}/ingest/${name}/*"]
    }
  }

  # Encrypting a message under the queue's key, and an object under the bucket's (SSE-KMS).
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "EncryptMessages"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "apigateway" {
  count = local.create ? 1 : 0

  name   = "send-to-queue"
  role   = aws_iam_role.apigateway[0].id
  policy = data.aws_iam_policy_document.apigateway[0].json
}

################################################################################
# Processor
################################################################################

resource "aws_iam_role" "processor" {
  count = local.create ? 1 : 0

  name                 = local.role_names.processor
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  description          = "Execution role of the ${var.name} webhook processor."
  assume_role_policy   = data.aws_iam_policy_document.assume["processor"].json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.role_names.processor) <= 64
      error_message = "The IAM role name ${local.role_names.processor} has ${length(local.role_names.processor)} characters; IAM allows 64 (name + \"-\" + region + \"-processor\"). Shorten name to at most ${64 - 11 - length(local.role_region)} characters."
    }
  }
}

data "aws_iam_policy_document" "processor" {
  count = local.create ? 1 : 0

  statement {
    sid = "ConsumeQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.this[0].arn]
  }

  # GetItem: a duplicate or conflicting delivery re-reads its row when it changed
  # between the conditional put and the conditional update (history.py).
  statement {
    sid       = "WriteHistory"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"]
    resources = [aws_dynamodb_table.this[0].arn]
  }

  # The log group is module-managed, so the function never needs logs:CreateLogGroup.
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.processor[0].arn}:*"]
  }

  dynamic "statement" {
    for_each = length(local.secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadSigningSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = sort(values(local.secret_arns))
    }
  }

  # PublishBatch is authorised by sns:Publish (there is no sns:PublishBatch action).
  dynamic "statement" {
    for_each = local.create_event_topic ? [1] : []
    content {
      sid       = "PublishEvents"
      actions   = ["sns:Publish"]
      resources = [local.event_topic_arn]
    }
  }

  # The payload store: each long body is written once under its SHA-256 and read back by
  # a redelivery that finds its row (payloads.tf). Only under bodies/, never the bucket.
  dynamic "statement" {
    for_each = local.create_payload_store ? [1] : []
    content {
      sid       = "StorePayloads"
      actions   = ["s3:PutObject", "s3:GetObject"]
      resources = [local.payload_bodies_arn]
    }
  }

  # The bodies the payloads API stored (ingest/<source>/<request id>): read, never written.
  dynamic "statement" {
    for_each = local.create_payload_api ? [1] : []
    content {
      sid       = "ReadIngestedPayloads"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.payloads[0].arn}/ingest/*"]
    }
  }

  # Decrypt: the queue's messages, the secrets and the stored bodies (GetObject).
  # GenerateDataKey: publishing to the topic encrypted with the same key (SNS needs both
  # from the publisher), and writing a body to the bucket under it (PutObject with SSE-KMS).
  # Under the AWS managed SNS key (no kms_key_arn) the key's own policy admits the account
  # through SNS; without kms_key_arn the bucket uses SSE-S3, which needs no kms:* at all.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptWithCustomerKey"
      actions   = local.create_event_topic || local.create_payload_store ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }

  # X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level
  # permissions: "*" is the only resource AWS accepts for them.
  dynamic "statement" {
    for_each = var.xray_tracing_enabled ? [1] : []
    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "processor" {
  count = local.create ? 1 : 0

  name   = "process-webhooks"
  role   = aws_iam_role.processor[0].id
  policy = data.aws_iam_policy_document.processor[0].json
}
