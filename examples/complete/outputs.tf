output "webhook_urls" {
  description = "URL per source."
  value       = module.webhooks.webhook_urls
}

output "rest_api_id" {
  description = "REST API id."
  value       = module.webhooks.rest_api_id
}

output "stage_name" {
  description = "Stage name."
  value       = module.webhooks.stage_name
}

output "queue_url" {
  description = "Main queue URL."
  value       = module.webhooks.queue_url
}

output "queue_arn" {
  description = "Main queue ARN."
  value       = module.webhooks.queue_arn
}

output "dead_letter_queue_url" {
  description = "DLQ URL."
  value       = module.webhooks.dead_letter_queue_url
}

output "dead_letter_queue_arn" {
  description = "DLQ ARN."
  value       = module.webhooks.dead_letter_queue_arn
}

output "history_table_name" {
  description = "History table."
  value       = module.webhooks.history_table_name
}

output "payload_bucket_name" {
  description = "Payload store bucket (bodies longer than history_max_stored_body_bytes)."
  value       = module.webhooks.payload_bucket_name
}

output "payload_bucket_arn" {
  description = "Payload store bucket ARN."
  value       = module.webhooks.payload_bucket_arn
}

output "processor_function_name" {
  description = "Processor function."
  value       = module.webhooks.processor_function_name
}

output "processor_role_arn" {
  description = "Processor role."
  value       = module.webhooks.processor_role_arn
}

output "api_gateway_role_arn" {
  description = "API Gateway role."
  value       = module.webhooks.api_gateway_role_arn
}

output "processor_package_base64sha256" {
  description = "Deployed zip hash."
  value       = module.webhooks.processor_package_base64sha256
}

output "secret_arns" {
  description = "Secret per verified source."
  value       = module.webhooks.secret_arns
}

output "sns_topic_arn" {
  description = "Alarm topic."
  value       = module.webhooks.sns_topic_arn
}

output "alarm_names" {
  description = "Alarms."
  value       = module.webhooks.alarm_names
}

output "processor_code_base64sha256" {
  description = "Processor code hash (what `make package` prints)."
  value       = module.webhooks.processor_code_base64sha256
}

output "processor_package_path" {
  description = "Local path of the deployed zip."
  value       = module.webhooks.processor_package_path
}

output "event_topic_arn" {
  description = "Event topic."
  value       = module.webhooks.event_topic_arn
}

output "consumers" {
  description = "Per consumer: queues, subscription, filter policy, mapping, alarms."
  value       = module.webhooks.consumers
}

output "payments_function_name" {
  description = "The payments consumer's function."
  value       = aws_lambda_function.payments.function_name
}

output "payments_seen_table_name" {
  description = "Where the payments consumer records each event once."
  value       = aws_dynamodb_table.payments_seen.name
}

output "payments_package_path" {
  description = "Local path of the payments consumer's zip (its base64 SHA-256 is the function's CodeSha256)."
  value       = data.archive_file.payments.output_path
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.webhooks.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard."
  value       = module.webhooks.dashboard_url
}

output "payload_rest_api_id" {
  description = "ID of the payloads REST API (the s3 sources, monorepo and exports)."
  value       = module.webhooks.payload_rest_api_id
}

output "payload_stage_invoke_url" {
  description = "Base URL of the payloads API's stage."
  value       = module.webhooks.payload_stage_invoke_url
}

output "stage_invoke_url" {
  description = "Base URL of the queue API's stage."
  value       = module.webhooks.stage_invoke_url
}

output "responder_function_names" {
  description = "The responder function of each source with handshake = true."
  value       = module.webhooks.responder_function_names
}
