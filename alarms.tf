resource "aws_sns_topic" "this" {
  count = local.create && var.create_sns_topic ? 1 : 0

  name = "${var.name}-alarms"
  # CloudWatch alarms cannot publish to a topic encrypted with the AWS managed
  # SNS key, so without a customer key the topic stays unencrypted (alarm
  # notifications carry no webhook data).
  kms_master_key_id = var.kms_key_arn

  tags = var.tags

  # checkov:skip=CKV_AWS_26:Encrypted when kms_key_arn is given; the AWS managed SNS key would silently break alarm delivery, and the topic only carries alarm state changes.
}

resource "aws_sns_topic_subscription" "email" {
  for_each = local.create && var.create_sns_topic ? toset(var.alarm_emails) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  alarm_topic_arn = var.create_sns_topic ? try(aws_sns_topic.this[0].arn, null) : var.sns_topic_arn
  alarm_actions   = local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]

  alarms = local.create && var.create_alarms ? {
    # The recipe watched ApproximateNumberOfVisibleMessages, which does not exist.
    dlq_messages = {
      description = "Webhooks reached the dead-letter queue: they failed processing ${var.queue_max_receive_count} times. Inspect and replay them (README \"Replaying\")."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dlq[0].name }
      statistic   = "Maximum"
      threshold   = 0
    }
    queue_oldest_message_age = {
      description = "The processor is falling behind: the oldest queued webhook is older than ${var.alarm_oldest_message_age_seconds} s."
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = aws_sqs_queue.this[0].name }
      statistic   = "Maximum"
      threshold   = var.alarm_oldest_message_age_seconds
    }
    processor_errors = {
      description = "The webhook processor failed invocations (whole batches are retried)."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this[0].function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    processor_throttles = {
      description = "The webhook processor was throttled (account or reserved concurrency)."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = aws_lambda_function.this[0].function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    api_5xx = {
      description = "The webhook API answered 5XX: senders are retrying (queue unavailable or misconfigured)."
      namespace   = "AWS/ApiGateway"
      metric      = "5XXError"
      dimensions  = { ApiName = aws_api_gateway_rest_api.this[0].name, Stage = aws_api_gateway_stage.this[0].stage_name }
      statistic   = "Sum"
      threshold   = 0
    }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}
