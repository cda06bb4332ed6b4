locals {
  alarm_actions = var.sns_topic_arn == null ? [] : [var.sns_topic_arn]

  alarms = var.create_alarms ? {
    dlq_messages = {
      description = "Events reached the ${var.name} consumer's dead-letter queue: the consumer failed them ${var.max_receive_count} times, or SNS could not deliver them. Inspect and replay them."
      metric      = "ApproximateNumberOfMessagesVisible"
      queue       = aws_sqs_queue.dlq.name
      threshold   = 0
    }
    oldest_message_age = {
      description = "The ${var.name} consumer is falling behind, failing or paused: its oldest queued event is older than ${var.alarm_oldest_message_age_seconds} s."
      metric      = "ApproximateAgeOfOldestMessage"
      queue       = aws_sqs_queue.this.name
      threshold   = var.alarm_oldest_message_age_seconds
    }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = "AWS/SQS"
  metric_name         = each.value.metric
  dimensions          = { QueueName = each.value.queue }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}
