resource "aws_sqs_queue" "dlq" {
  count = local.create ? 1 : 0

  name = "${var.name}-dlq"
  # The longest SQS allows: time to inspect and replay what failed.
  message_retention_seconds = 1209600
  max_message_size          = var.queue_max_message_size

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  count = local.create ? 1 : 0

  name                       = var.name
  visibility_timeout_seconds = local.queue_visibility_timeout_seconds
  message_retention_seconds  = var.queue_message_retention_seconds
  max_message_size           = var.queue_max_message_size
  receive_wait_time_seconds  = 20

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[0].arn
    maxReceiveCount     = var.queue_max_receive_count
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.queue_visibility_timeout_seconds >= 6 * var.processor_timeout
      error_message = "queue_visibility_timeout_seconds must be at least 6 x processor_timeout (AWS's guidance for Lambda SQS triggers), or a message still being processed is delivered again."
    }
    precondition {
      condition     = local.queue_visibility_timeout_seconds <= 43200
      error_message = "The queue visibility timeout (6 x processor_timeout unless set) cannot exceed 43200 seconds."
    }
  }
}

# Only the main queue may redrive into the DLQ. A separate resource, because
# the DLQ must exist before the main queue's redrive policy can name it.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = local.create ? 1 : 0

  queue_url = aws_sqs_queue.dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[0].arn]
  })
}
