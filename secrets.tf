# One secret per verified source that has no secret_arn. Created empty: the value
# is written by the operator (README "Secrets"), so it never enters Terraform
# state or variables. Until it is written, the processor treats the missing
# value as transient: events wait in the queue (then the DLQ) and are not lost.
resource "aws_secretsmanager_secret" "this" {
  for_each = local.managed_secret_sources

  name        = "${var.name}/webhook-signing/${each.key}"
  description = "Signing secret for webhook source ${each.key} (${each.value.scheme}). A string, or a JSON array of strings while rotating."
  kms_key_id  = var.kms_key_arn
  # After destroy the secret (and its name) is kept this long; 0 deletes it at once.
  recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags

  # checkov:skip=CKV2_AWS_57:The secret is the sender's signing key, issued by the provider (Stripe, GitHub...); it cannot be rotated by a Lambda here. Rotation is manual and downtime-free (README "Rotating a secret").
}
