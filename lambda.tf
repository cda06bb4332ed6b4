module "package" {
  source = "./modules/lambda-package"

  source_dir  = "${path.module}/lambda"
  output_path = "${path.root}/.build/${var.name}-processor.zip"
}

# Created before the function so the function's first failed invocation cannot
# auto-create it without retention.
resource "aws_cloudwatch_log_group" "processor" {
  count = local.create ? 1 : 0

  name              = "/aws/lambda/${local.processor_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags

  # checkov:skip=CKV_AWS_338:Retention is an input (log_retention_days, default 30); the durable record of every webhook is the history table.
}

resource "aws_lambda_function" "this" {
  count = local.create ? 1 : 0

  function_name    = local.processor_function_name
  description      = "Verifies and records webhooks from SQS into the history table (${var.name})."
  role             = aws_iam_role.processor[0].arn
  runtime          = var.processor_runtime
  handler          = "webhook_processor.handler.lambda_handler"
  filename         = module.package.output_path
  source_code_hash = module.package.output_base64sha256
  memory_size      = var.processor_memory_size
  timeout          = var.processor_timeout
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = {
      TABLE_NAME = aws_dynamodb_table.this[0].name
      WEBHOOK_SOURCES = jsonencode({
        for name, s in local.sources : name => {
          scheme            = s.scheme
          secret_arn        = lookup(local.secret_arns, name, null)
          tolerance_seconds = s.timestamp_tolerance_seconds
          hmac_encoding     = s.signature_encoding
          hmac_prefix       = s.signature_prefix
        }
      })
      HISTORY_RETENTION_DAYS   = tostring(var.history_retention_days)
      MAX_STORED_BODY_BYTES    = tostring(var.history_max_stored_body_bytes)
      SECRET_CACHE_TTL_SECONDS = "300"
      LOG_LEVEL                = var.processor_log_level
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.processor[0].name
    application_log_level = var.processor_log_level
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = var.xray_tracing_enabled ? "Active" : "PassThrough"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.processor]

  # checkov:skip=CKV_AWS_116:An SQS-triggered function's failures go to the queue's own DLQ (redrive policy); a Lambda DLQ only applies to asynchronous invocations.
  # checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SQS, DynamoDB, Secrets Manager); a VPC would add NAT or endpoints with no isolation gain. Attach one in a wrapper if your policy requires it.
  # checkov:skip=CKV_AWS_115:Concurrency is capped by the SQS trigger's maximum_concurrency (processor_maximum_concurrency), which throttles the poller rather than failing invocations.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the module cannot create for its users; the package hash is pinned by source_code_hash.
  # checkov:skip=CKV_AWS_173:The environment holds no secrets (only names and ARNs); pass kms_key_arn to encrypt it with your own key.
}

resource "aws_lambda_event_source_mapping" "this" {
  count = local.create ? 1 : 0

  event_source_arn                   = aws_sqs_queue.this[0].arn
  function_name                      = aws_lambda_function.this[0].arn
  batch_size                         = var.processor_batch_size
  maximum_batching_window_in_seconds = var.processor_batching_window_seconds
  # Only the records that failed are retried; the rest of the batch is done.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.processor_maximum_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.processor_batch_size <= 10 || var.processor_batching_window_seconds > 0
      error_message = "processor_batch_size above 10 needs processor_batching_window_seconds > 0 (an SQS trigger rule)."
    }
  }
}
