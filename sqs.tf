resource "aws_sqs_queue" "dlq" {
  count = local.create ? 1 : 0

  name = "${var.name}-dlq"
  # The longest SQS allows: time to inspect and replay what failed.
  message_retention_seconds = 1209600
  max_message_size          = var.queue_max_message_size

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  tags = var.tags

  # Inputs that would otherwise be ignored without a word. Checked here because the
  # DLQ exists whenever the module creates anything (there may be no alarm at all).
  lifecycle {
    precondition {
      condition     = !(var.create_sns_topic && var.sns_topic_arn != null)
      error_message = "sns_topic_arn is set but create_sns_topic is true, so the alarms would notify the module's own topic and ignore ${coalesce(var.sns_topic_arn, "-")}. Set create_sns_topic = false to use your topic, or drop sns_topic_arn."
    }
    precondition {
      condition     = length(var.alarm_emails) == 0 || (var.create_alarms && var.create_sns_topic)
      error_message = "alarm_emails (${join(", ", var.alarm_emails)}) would receive nothing: they are subscribed only to the module-created topic of the module's alarms, and ${var.create_alarms ? "create_sns_topic is false" : "create_alarms is false"}. Subscribe them to your own topic, or drop alarm_emails."
    }
    precondition {
      condition     = var.create_event_topic || length(var.consumers) == 0
      error_message = "consumers (${join(", ", keys(var.consumers))}) subscribe to the event topic, but create_event_topic is false, so there is none and the processor publishes nothing. Set create_event_topic = true, or drop consumers."
    }
    precondition {
      condition     = length(local.s3_sources) == 0 || var.create_payload_store
      error_message = "Sources ${join(", ", sort(keys(local.s3_sources)))} have payload_store = \"s3\", which writes their bodies into the payload store, but create_payload_store is false. Set create_payload_store = true, or make them payload_store = \"queue\"."
    }
    precondition {
      condition     = length(local.consumer_unknown_sources) == 0
      error_message = "consumers name sources that are not keys of sources, so they would never receive an event: ${join("; ", [for k, unknown in local.consumer_unknown_sources : "consumers[\"${k}\"] ${join(", ", [for s in unknown : jsonencode(s)])}"])}. Known sources: ${join(", ", sort(keys(var.sources)))}. Leave a consumer's sources empty for every source."
    }
    precondition {
      condition     = length(local.consumer_names_too_long) == 0
      error_message = "The consumer queue names <name>-<key>-dlq of ${join(", ", [for k in local.consumer_names_too_long : "consumers[\"${k}\"] (${length("${var.name}-${k}-dlq")} characters)"])} exceed SQS's 80 characters. With name = \"${var.name}\" a consumer key may have at most ${75 - length(var.name)} characters."
    }
  }
}

resource "aws_sqs_queue" "this" {
  count = local.create ? 1 : 0

  name                       = var.name
  visibility_timeout_seconds = local.queue_visibility_timeout_seconds
  message_retention_seconds  = var.queue_message_retention_seconds
  max_message_size           = var.queue_max_message_size
  receive_wait_time_seconds  = 20

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[0].arn
    maxReceiveCount     = var.queue_max_receive_count
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.queue_visibility_timeout_seconds >= 6 * var.processor_timeout
      error_message = "queue_visibility_timeout_seconds must be at least 6 x processor_timeout (AWS's guidance for Lambda SQS triggers), or a message still being processed is delivered again."
    }
    precondition {
      condition     = local.queue_visibility_timeout_seconds <= 43200
      error_message = "The queue visibility timeout (6 x processor_timeout unless set) cannot exceed 43200 seconds."
    }
  }
}

# Only the main queue may redrive into the DLQ. A separate resource, because
# the DLQ must exist before the main queue's redrive policy can name it.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = local.create ? 1 : 0

  queue_url = aws_sqs_queue.dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[0].arn]
  })
}

################################################################################
# Queue policies: who may send, and TLS only (modules/queue-policy adds the
# TLS-only Deny to both, and the replay statement to the DLQ)
################################################################################

locals {
  # Everyone who may send to the main queue: the API and the operators' replay tools.
  # With handshake sources, their responders too (responder.tf).
  queue_senders = local.create ? distinct(concat(
    [aws_iam_role.apigateway[0].arn],
    [for name in sort(keys(local.handshake_sources)) : aws_iam_role.responder[name].arn],
    var.replay_principal_arns,
  )) : []
}

# SendMessage only from the API Gateway role and replay_principal_arns. The Deny
# is what makes it "only": an Allow in a queue policy adds to identity policies,
# so without it any principal of the account with sqs:SendMessage on * could
# write forged messages. aws:PrincipalArn is the role's ARN for its sessions.
# The processor keeps receiving and deleting through its identity policy.
module "queue_policy" {
  source = "./modules/queue-policy"
  count  = local.create ? 1 : 0

  queue_arn = aws_sqs_queue.this[0].arn
  statements = concat(
    [{
      sid        = "AllowSendFromApiAndReplay"
      actions    = ["sqs:SendMessage"]
      principals = { type = "AWS", identifiers = local.queue_senders }
      conditions = []
    }],
    # The payload store's event notifications (payload_api.tf), from this bucket only.
    # aws:SourceArn is set by the service acting for the bucket and cannot be given by a caller.
    local.create_payload_api ? [{
      sid        = "AllowPayloadNotifications"
      actions    = ["sqs:SendMessage"]
      principals = { type = "Service", identifiers = ["s3.amazonaws.com"] }
      conditions = [
        { test = "ArnEquals", variable = "aws:SourceArn", values = [aws_s3_bucket.payloads[0].arn] },
        { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] },
      ]
    }] : [],
    [{
      sid        = "DenySendFromOthers"
      effect     = "Deny"
      actions    = ["sqs:SendMessage"]
      principals = { type = "*", identifiers = ["*"] }
      # Conditions are ANDed: the Deny spares the senders and, with s3 sources, the bucket's
      # notifications. A request without aws:SourceArn (any principal's own call) matches
      # ArnNotEquals, so it is still denied unless its principal is a sender.
      conditions = concat(
        [{ test = "ArnNotEquals", variable = "aws:PrincipalArn", values = local.queue_senders }],
        local.create_payload_api ? [{ test = "ArnNotEquals", variable = "aws:SourceArn", values = [aws_s3_bucket.payloads[0].arn] }] : [],
      )
    }],
  )
}

resource "aws_sqs_queue_policy" "this" {
  count = local.create ? 1 : 0

  queue_url = aws_sqs_queue.this[0].id
  policy    = module.queue_policy[0].json
}

# The DLQ: the replay principals read, delete and send there (webhookctl dlq list /
# replay). SQS itself moves messages in from the main queue.
module "dlq_policy" {
  source = "./modules/queue-policy"
  count  = local.create ? 1 : 0

  queue_arn             = aws_sqs_queue.dlq[0].arn
  replay_principal_arns = var.replay_principal_arns
}

resource "aws_sqs_queue_policy" "dlq" {
  count = local.create ? 1 : 0

  queue_url = aws_sqs_queue.dlq[0].id
  policy    = module.dlq_policy[0].json

  # After the redrive allow policy, which is set on the same queue: SQS changes only
  # the attributes named, but the local account (moto) clears a queue's Policy on
  # any SetQueueAttributes that omits it. The order costs nothing on AWS.
  depends_on = [aws_sqs_queue_redrive_allow_policy.dlq]
}
