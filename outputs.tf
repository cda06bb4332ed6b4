output "webhook_urls" {
  description = "The URL each source posts to, by source name. Sources with payload_store = \"s3\" are served by the payloads API, so their URLs have another host."
  value = merge(
    { for name, s in local.queue_sources : name => "${aws_api_gateway_stage.this[0].invoke_url}/webhooks/${name}" },
    { for name, s in local.payload_api_sources : name => "${aws_api_gateway_stage.payloads[0].invoke_url}/webhooks/${name}" },
  )
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = try(aws_api_gateway_rest_api.this[0].id, null)
}

output "rest_api_execution_arn" {
  description = "Execution ARN of the REST API (for resource policies and permissions)."
  value       = try(aws_api_gateway_rest_api.this[0].execution_arn, null)
}

output "stage_name" {
  description = "Name of the API stage."
  value       = try(aws_api_gateway_stage.this[0].stage_name, null)
}

output "stage_arn" {
  description = "ARN of the API stage (attach a WAF web ACL here)."
  value       = try(aws_api_gateway_stage.this[0].arn, null)
}

output "stage_invoke_url" {
  description = "Base URL of the API stage."
  value       = try(aws_api_gateway_stage.this[0].invoke_url, null)
}

output "payload_rest_api_id" {
  description = "ID of the payloads REST API, which serves the sources with payload_store = \"s3\" (null without such sources)."
  value       = try(aws_api_gateway_rest_api.payloads[0].id, null)
}

output "payload_stage_arn" {
  description = "ARN of the payloads API's stage (null without s3 sources): a WAF web ACL for the queue API's stage_arn belongs here too."
  value       = try(aws_api_gateway_stage.payloads[0].arn, null)
}

output "payload_stage_invoke_url" {
  description = "Base URL of the payloads API's stage (null without s3 sources)."
  value       = try(aws_api_gateway_stage.payloads[0].invoke_url, null)
}

output "responder_function_names" {
  description = "The responder function of each source with handshake = true, by source name (empty without such sources)."
  value       = { for name, f in aws_lambda_function.responder : name => f.function_name }
}

output "queue_url" {
  description = "URL of the main queue."
  value       = try(aws_sqs_queue.this[0].url, null)
}

output "queue_arn" {
  description = "ARN of the main queue."
  value       = try(aws_sqs_queue.this[0].arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = try(aws_sqs_queue.dlq[0].url, null)
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = try(aws_sqs_queue.dlq[0].arn, null)
}

output "history_table_name" {
  description = "Name of the DynamoDB history table."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "history_table_arn" {
  description = "ARN of the DynamoDB history table."
  value       = try(aws_dynamodb_table.this[0].arn, null)
}

output "history_table_stream_arn" {
  description = "ARN of the history table's stream, when history_stream_enabled."
  value       = try(aws_dynamodb_table.this[0].stream_arn, null)
}

output "payload_bucket_name" {
  description = "Name of the payload store bucket, where bodies longer than history_max_stored_body_bytes are kept (bodies/<source>/<sha256>; null without create_payload_store). Whoever reads a body_ref row (webhookctl history show --body-out, replay, requeue) needs s3:GetObject on it."
  value       = try(aws_s3_bucket.payloads[0].bucket, null)
}

output "payload_bucket_arn" {
  description = "ARN of the payload store bucket (null without create_payload_store)."
  value       = try(aws_s3_bucket.payloads[0].arn, null)
}

output "processor_function_name" {
  description = "Name of the processor Lambda function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "processor_function_arn" {
  description = "ARN of the processor Lambda function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "processor_log_group_name" {
  description = "Log group of the processor."
  value       = try(aws_cloudwatch_log_group.processor[0].name, null)
}

output "processor_package_base64sha256" {
  description = "Base64 SHA-256 of the deployed processor zip (the function's CodeSha256): the code plus webhook_config/sources.json, the per-source configuration."
  value       = module.package.output_base64sha256
}

output "processor_code_base64sha256" {
  description = "Base64 SHA-256 of a zip of the processor code alone, equal to what `make package` prints."
  value       = module.package.code_base64sha256
}

output "processor_package_path" {
  description = "Local path of the deployed zip, written by archive_file under the root module's .build/ (a saved plan needs it at apply time)."
  value       = module.package.output_path
}

output "processor_role_arn" {
  description = "ARN of the processor's execution role."
  value       = try(aws_iam_role.processor[0].arn, null)
}

output "api_gateway_role_arn" {
  description = "ARN of the role API Gateway assumes to send to the queue."
  value       = try(aws_iam_role.apigateway[0].arn, null)
}

output "sns_topic_arn" {
  description = "SNS topic the alarms notify (module-created or passed in)."
  value       = local.alarm_topic_arn
}

output "alarm_names" {
  description = "CloudWatch alarm names by alarm key: dlq_messages, queue_oldest_message_age, processor_errors, processor_throttles, processor_duration, api_5xx, api_4xx_rate, rejected_ratio_<source> (verified sources) and silence_<source> (sources with alert_after_silence_seconds)."
  value = merge(
    { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name },
    { for k, a in aws_cloudwatch_metric_alarm.math : k => a.alarm_name },
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null without create_dashboard)."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard (null without create_dashboard)."
  value       = try("https://${local.console_host}/cloudwatch/home?region=${local.dashboard_region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this[0].dashboard_name}", null)
}

output "secret_arns" {
  description = "Secrets Manager secret ARN per verified source (module-created ones are empty until you write them)."
  value       = local.secret_arns
}

output "access_log_group_name" {
  description = "Log group of the API access logs, when create_access_logs."
  value       = try(aws_cloudwatch_log_group.access[0].name, null)
}

output "event_topic_arn" {
  description = "ARN of the event topic every newly processed event is published to (null without create_event_topic). Subscribe your own endpoints or modules/consumer to it. Message attributes (String): source, event_type, event_id, scheme; body: the envelope (docs/event-envelope.schema.json)."
  value       = local.event_topic_arn
}

output "event_topic_name" {
  description = "Name of the event topic (null without create_event_topic)."
  value       = try(aws_sns_topic.events[0].name, null)
}

output "consumers" {
  description = "Per consumer, its modules/consumer outputs: queue_url, queue_arn, queue_name, dead_letter_queue_url, dead_letter_queue_arn, subscription_arn, filter_policy, filter_policy_scope, consumer_policy_json (attach it to whatever consumes the queue without function_role_name), event_source_mapping_uuid (null without function_name) and alarm_names."
  value       = module.consumer
}
