################################################################################
# Consumers: one modules/consumer per entry of var.consumers
################################################################################

# Each consumer is isolated: its own queue, DLQ and subscription (raw delivery, its
# filter policy), so a slow, failing or paused consumer fills only its own queue, and
# neither ingestion nor the other consumers wait for it. The same module serves teams
# that subscribe from their own configuration, given event_topic_arn.
#
# Checked with the other cross-input rules on the DLQ (sqs.tf): consumers need the
# event topic, name only known sources, and must fit SQS's queue names. A filter policy
# SNS would refuse is refused by the consumer module itself.
module "consumer" {
  source   = "./modules/consumer"
  for_each = local.create_event_topic ? var.consumers : {}

  name      = "${var.name}-${each.key}"
  topic_arn = local.event_topic_arn
  tags      = var.tags

  sources     = each.value.sources
  event_types = each.value.event_types
  body_filter = each.value.body_filter

  max_receive_count          = each.value.max_receive_count
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = each.value.message_retention_seconds
  kms_key_arn                = var.kms_key_arn
  replay_principal_arns      = var.replay_principal_arns

  enabled                 = each.value.enabled
  function_name           = each.value.function_name
  function_role_name      = each.value.function_role_name
  batch_size              = each.value.batch_size
  batching_window_seconds = each.value.batching_window_seconds
  maximum_concurrency     = each.value.maximum_concurrency

  # The module's own alarms' topic (alarms.tf), and so alarm_emails, or none.
  create_alarms                    = var.create_alarms
  sns_topic_arn                    = local.alarm_topic_arn
  alarm_oldest_message_age_seconds = each.value.alarm_oldest_message_age_seconds
}

locals {
  # Checked on the DLQ (sqs.tf).
  consumer_unknown_sources = {
    for k, c in var.consumers : k => [for s in c.sources : s if !contains(keys(var.sources), s)]
    if length([for s in c.sources : s if !contains(keys(var.sources), s)]) > 0
  }
  # SQS allows 80 characters; the longest name is the DLQ's, <name>-<key>-dlq.
  consumer_names_too_long = [for k in keys(var.consumers) : k if length("${var.name}-${k}-dlq") > 80]
}
