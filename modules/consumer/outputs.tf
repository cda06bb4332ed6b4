output "queue_url" {
  description = "URL of the consumer's queue (raw envelopes, with the SNS attributes as SQS message attributes)."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the consumer's queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the consumer's queue."
  value       = aws_sqs_queue.this.name
}

output "dead_letter_queue_url" {
  description = "URL of the consumer's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the consumer's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "subscription_arn" {
  description = "ARN of the SNS subscription of the queue to the topic."
  value       = aws_sns_topic_subscription.this.arn
}

output "filter_policy" {
  description = "The subscription's filter policy (JSON), or null when the consumer takes every event."
  value       = local.filter_policy
}

output "filter_policy_scope" {
  description = "MessageAttributes, MessageBody (with body_filter), or null without a filter policy."
  value       = local.filter_policy_scope
}

output "consumer_policy_json" {
  description = "The least-privilege IAM policy (JSON) to consume the queue: receive, delete, change visibility, get attributes, and kms:Decrypt when kms_key_arn is set. Attached to function_role_name when given; attach it yourself otherwise."
  value       = data.aws_iam_policy_document.consumer.json
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping, when function_name is set."
  value       = try(aws_lambda_event_source_mapping.this[0].uuid, null)
}

output "alarm_names" {
  description = "CloudWatch alarm names by alarm key (dlq_messages, oldest_message_age)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }
}
