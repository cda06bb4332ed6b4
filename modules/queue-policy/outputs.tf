output "json" {
  description = "The policy document (JSON) for the queue's aws_sqs_queue_policy."
  value       = data.aws_iam_policy_document.this.json
}
