################################################################################
# The consumer's least-privilege policy
################################################################################

# What a consumer of the queue needs, and no more: the event source mapping (or any
# other poller) receives, deletes, hands back (ChangeMessageVisibility) and reads the
# queue's attributes. Nothing on the DLQ: replaying from it is an operator's job
# (replay_principal_arns). Output as consumer_policy_json for roles this module does
# not know; attached inline to function_role_name when given.
data "aws_iam_policy_document" "consumer" {
  statement {
    sid = "ConsumeQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.this.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptMessages"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "consumer" {
  count = var.function_role_name == null ? 0 : 1

  # One role may consume several queues: one policy per consumer, named after it.
  name   = "consume-${var.name}"
  role   = var.function_role_name
  policy = data.aws_iam_policy_document.consumer.json
}
