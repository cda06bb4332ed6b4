# The policy of one SQS queue of this repository (the module's own queues and every
# consumer's): the caller's statements, operator access for replay_principal_arns, and
# a Deny of every request without TLS. Data only: the caller owns the queue and its
# aws_sqs_queue_policy, so their addresses do not depend on this module.
locals {
  replay = length(var.replay_principal_arns) == 0 ? [] : [{
    sid = "AllowReplay"
    # Inspect, replay from and redrive out of the queue (webhookctl dlq list / replay).
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:SendMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    effect     = "Allow"
    principals = { type = "AWS", identifiers = distinct(var.replay_principal_arns) }
    conditions = []
  }]
  tls_only = [{
    sid        = "DenyInsecureTransport"
    actions    = ["sqs:*"]
    effect     = "Deny"
    principals = { type = "*", identifiers = ["*"] }
    conditions = [{ test = "Bool", variable = "aws:SecureTransport", values = ["false"] }]
  }]
}

data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = concat(var.statements, local.replay, local.tls_only)
    content {
      sid       = statement.value.sid
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = [var.queue_arn]
      principals {
        type        = statement.value.principals.type
        identifiers = statement.value.principals.identifiers
      }
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}
