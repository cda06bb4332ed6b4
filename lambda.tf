locals {
  # The processor's per-source configuration. It travels in the deployment zip
  # (webhook_config/sources.json), not in the environment: Lambda caps all
  # environment variables together at 4 KB, which about 15 sources exceeded.
  processor_sources_file = "webhook_config/sources.json"
  processor_sources = {
    for name, s in local.sources : name => {
      scheme            = s.scheme
      secret_arn        = lookup(local.secret_arns, name, null)
      tolerance_seconds = s.timestamp_tolerance_seconds
      hmac_encoding     = s.signature_encoding
      hmac_prefix       = s.signature_prefix
      payload_store     = s.payload_store
    }
  }

  # The processor's time budget (lambda/webhook_processor/budget.py computes the
  # same numbers from PROCESSOR_TIMEOUT_SECONDS). Milliseconds, so every
  # comparison is between whole numbers.
  #   safety margin = min(5 s, 20 % of the timeout): records are handed back
  #     unstarted below it, so at least 80 % of the timeout is usable;
  #   SDK read timeout = clamp(timeout / 6, 1 s, 5 s), connect = min(2 s, read),
  #     3 attempts: one call's worst case is 3 x (connect + read);
  #   a healthy record costs about 12 ms (docs/capacity.md); 100 ms is the
  #     budget for every record of a batch but the one whose call is slow.
  processor_sdk_max_attempts = 3
  processor_usable_ms        = 800 * var.processor_timeout
  processor_record_budget_ms = 100
  # For each whole timeout 0..900 s: one SDK call's worst case, in whole ms
  # (rounded to the nearest, so 3 x (2 + 20 / 6) s is 16000 ms exactly).
  processor_sdk_worst_ms_by_timeout = [
    for t in range(0, 901) : floor(local.processor_sdk_max_attempts * (
      min(2, min(max(t / 6, 1), 5)) + min(max(t / 6, 1), 5)
    ) * 1000 + 0.5)
  ]
  processor_sdk_read_timeout_s    = min(max(var.processor_timeout / 6, 1), 5)
  processor_sdk_connect_timeout_s = min(2, local.processor_sdk_read_timeout_s)
  processor_sdk_worst_ms          = local.processor_sdk_worst_ms_by_timeout[var.processor_timeout]
  # The batch must finish even when one of its SDK calls takes its whole retry
  # budget: records the processor cannot start in time are handed back, and each
  # hand-back counts toward the queue's maxReceiveCount.
  processor_batch_need_ms = local.processor_sdk_worst_ms + (var.processor_batch_size - 1) * local.processor_record_budget_ms
  processor_sdk_fits      = local.processor_usable_ms >= local.processor_sdk_worst_ms
  processor_batch_fits    = local.processor_usable_ms >= local.processor_batch_need_ms
  # What would fit: the shortest whole timeout for this batch size, the largest batch for this timeout.
  processor_min_timeout_for_batch = try([
    for t in range(3, 901) : t
    if 800 * t >= local.processor_sdk_worst_ms_by_timeout[t] + (var.processor_batch_size - 1) * local.processor_record_budget_ms
  ][0], null)
  processor_max_batch_for_timeout = max(0, floor((local.processor_usable_ms - local.processor_sdk_worst_ms) / local.processor_record_budget_ms) + 1)
  processor_min_timeout_for_sdk = [
    for t in range(3, 901) : t if 800 * t >= local.processor_sdk_worst_ms_by_timeout[t]
  ][0]
}

module "package" {
  source = "./modules/lambda-package"

  source_dir  = "${path.module}/lambda"
  output_path = "${path.root}/.build/${var.name}-processor.zip"
  extra_files = {
    (local.processor_sources_file) = jsonencode(local.processor_sources)
  }
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
      # Relative to the package root (LAMBDA_TASK_ROOT): the file is in the zip.
      WEBHOOK_SOURCES_FILE      = local.processor_sources_file
      PROCESSOR_TIMEOUT_SECONDS = tostring(var.processor_timeout)
      HISTORY_RETENTION_DAYS    = tostring(var.history_retention_days)
      REJECTED_RETENTION_DAYS   = tostring(var.history_rejected_retention_days)
      MAX_STORED_BODY_BYTES     = tostring(var.history_max_stored_body_bytes)
      INVALID_BODY_BYTES        = tostring(var.history_invalid_body_bytes)
      SECRET_CACHE_TTL_SECONDS  = "300"
      LOG_LEVEL                 = var.processor_log_level
      # Empty: publishing off (create_event_topic = false).
      EVENT_TOPIC_ARN = local.create_event_topic ? local.event_topic_arn : ""
      # Empty: no payload store (create_payload_store = false), long bodies are kept truncated.
      PAYLOAD_BUCKET = local.create_payload_store ? aws_s3_bucket.payloads[0].bucket : ""
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

  lifecycle {
    precondition {
      # Without the payload store a row is the only copy of a body once its message is
      # deleted, and it holds history_max_stored_body_bytes at most (issue 14, part 4).
      condition     = var.create_payload_store || var.queue_max_message_size <= var.history_max_stored_body_bytes
      error_message = "create_payload_store is false and queue_max_message_size (${var.queue_max_message_size}) is above history_max_stored_body_bytes (${var.history_max_stored_body_bytes}): a verified body of up to ${var.queue_max_message_size} bytes would be kept truncated to ${var.history_max_stored_body_bytes} bytes. Set create_payload_store = true, or queue_max_message_size <= ${var.history_max_stored_body_bytes}."
    }
    precondition {
      condition     = local.processor_sdk_fits
      error_message = "processor_timeout = ${var.processor_timeout} s is too short for one SDK call with its retries: ${local.processor_sdk_max_attempts} attempts x (${format("%.2f", local.processor_sdk_connect_timeout_s)} s connect + ${format("%.2f", local.processor_sdk_read_timeout_s)} s read) = ${format("%.1f", local.processor_sdk_worst_ms / 1000)} s, but only ${format("%.1f", local.processor_usable_ms / 1000)} s (80 %) of the timeout is usable after the safety margin. A record whose call cannot finish is cut off by the timeout and retried until it reaches the DLQ untried. Use processor_timeout >= ${local.processor_min_timeout_for_sdk}."
    }
    precondition {
      # Only once the SDK rule holds: its message already explains a too-short timeout.
      condition     = !local.processor_sdk_fits || local.processor_batch_fits
      error_message = "processor_batch_size = ${var.processor_batch_size} does not fit processor_timeout = ${var.processor_timeout} s: the batch needs ${format("%.1f", local.processor_batch_need_ms / 1000)} s (one SDK call with all its retries, ${format("%.1f", local.processor_sdk_worst_ms / 1000)} s, plus ${local.processor_record_budget_ms} ms for each of the other ${var.processor_batch_size - 1} records), but only ${format("%.1f", local.processor_usable_ms / 1000)} s (80 %) is usable. Records the processor cannot start in time are handed back, and every hand-back counts toward queue_max_receive_count (${var.queue_max_receive_count}), so they would reach the DLQ untried. Use processor_batch_size <= ${local.processor_max_batch_for_timeout}${local.processor_min_timeout_for_batch == null ? "" : " or processor_timeout >= ${local.processor_min_timeout_for_batch}"}."
    }
  }

  # checkov:skip=CKV_AWS_116:An SQS-triggered function's failures go to the queue's own DLQ (redrive policy); a Lambda DLQ only applies to asynchronous invocations.
  # checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SQS, DynamoDB, Secrets Manager, SNS, S3); a VPC would add NAT or endpoints with no isolation gain. Attach one in a wrapper if your policy requires it.
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
  # processor_enabled = false pauses processing; ingestion goes on and the messages wait
  # in the queue (under its retention).
  enabled = var.processor_enabled

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
