################################################################################
# Queues
################################################################################

resource "aws_sqs_queue" "dlq" {
  name = "${var.name}-dlq"
  # The longest SQS allows: time to inspect and replay what failed.
  message_retention_seconds = 1209600

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 20

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags
}

# Only the consumer's queue may redrive into its DLQ. A separate resource, because
# the DLQ must exist before the queue's redrive policy can name it.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

################################################################################
# Queue policies: the topic (and the replay principals) may send; TLS only
# (modules/queue-policy adds the TLS-only Deny to both, and the replay statement
# to the DLQ)
################################################################################

locals {
  replayers = distinct(var.replay_principal_arns)

  # SNS delivers as the service principal, with aws:SourceArn = the topic.
  from_topic = {
    actions    = ["sqs:SendMessage"]
    principals = { type = "Service", identifiers = ["sns.amazonaws.com"] }
    conditions = [{ test = "ArnEquals", variable = "aws:SourceArn", values = [var.topic_arn] }]
  }
}

# The Deny makes it "only the topic": an Allow in a queue policy adds to identity
# policies, so without it any principal of the account with sqs:SendMessage on * could
# inject forged events. A request is denied when it comes neither from the topic
# (SourceArn) nor from a replay principal (PrincipalArn); a negated condition on a key
# the request lacks is true. The consumer's function receives and deletes through its
# own role (consumer_policy_json).
module "queue_policy" {
  source = "../queue-policy"

  queue_arn = aws_sqs_queue.this.arn
  statements = concat(
    [merge(local.from_topic, { sid = "AllowSendFromTopic" })],
    length(local.replayers) == 0 ? [] : [{
      sid        = "AllowSendFromReplay"
      actions    = ["sqs:SendMessage"]
      principals = { type = "AWS", identifiers = local.replayers }
    }],
    [{
      sid        = "DenySendFromOthers"
      effect     = "Deny"
      actions    = ["sqs:SendMessage"]
      principals = { type = "*", identifiers = ["*"] }
      conditions = concat(
        [{ test = "ArnNotEquals", variable = "aws:SourceArn", values = [var.topic_arn] }],
        length(local.replayers) == 0 ? [] : [{ test = "ArnNotEquals", variable = "aws:PrincipalArn", values = local.replayers }],
      )
    }],
  )
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = module.queue_policy.json
}

# The DLQ: SQS moves failed messages in itself (no policy needed); SNS sends what it
# could not deliver (the subscription's redrive policy); the replay principals inspect
# and replay.
module "dlq_policy" {
  source = "../queue-policy"

  queue_arn             = aws_sqs_queue.dlq.arn
  statements            = [merge(local.from_topic, { sid = "AllowUndeliverableFromTopic" })]
  replay_principal_arns = local.replayers
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = module.dlq_policy.json

  # Both write the DLQ's attributes: one after the other. Free on AWS; and moto (the
  # tests' local account, 5.2.x) clears a queue's Policy on any SetQueueAttributes
  # that does not carry one, so the redrive-allow write must come first.
  depends_on = [aws_sqs_queue_redrive_allow_policy.dlq]
}
