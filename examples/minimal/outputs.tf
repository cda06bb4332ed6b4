output "webhook_urls" {
  description = "URL per source."
  value       = module.webhooks.webhook_urls
}

output "secret_arns" {
  description = "Secrets to fill with each source's signing secret."
  value       = module.webhooks.secret_arns
}
