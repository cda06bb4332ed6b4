output "webhook_urls" {
  description = "URL per source."
  value       = module.webhooks.webhook_urls
}

output "secret_arns" {
  description = "Secrets to fill with each source's signing secret."
  value       = module.webhooks.secret_arns
}

output "payload_bucket_name" {
  description = "Payload store bucket: bodies longer than a history row holds (webhookctl readers need s3:GetObject on it)."
  value       = module.webhooks.payload_bucket_name
}

output "payload_bucket_arn" {
  description = "Payload store bucket ARN."
  value       = module.webhooks.payload_bucket_arn
}
