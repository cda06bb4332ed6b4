################################################################################
# Event topic: every newly processed event, once, for the consumers
################################################################################

# The processor publishes each new processed event here after its history write
# (PublishBatch, up to 10 per call): the envelope as the body, and source, event_type,
# event_id and scheme as String message attributes that filter policies match on.
# Delivery is at least once (a crash between the publish and the published_at marker
# publishes again), so event_id is every consumer's idempotency key.
#
# Encrypted always: with kms_key_arn, or else with the AWS managed SNS key. SNS delivers
# to SQS queues under SSE-SQS (the consumers' default) with either key. CloudWatch alarms
# could not publish under the AWS managed key, but alarms use the other topic (alarms.tf).
#
# No topic policy: the default one lets principals of this account act on the topic as
# far as their IAM policies allow. The processor's role may publish here and nowhere
# else (iam.tf). Unlike the queues, the topic does not deny other publishers: a
# principal of the account with sns:Publish on * can publish to it, so consumers must
# not treat an envelope as proof of a verified webhook beyond what IAM in the account
# guarantees. Add an aws_sns_topic_policy of your own (outside this module) to narrow
# it, or to let another account subscribe.
resource "aws_sns_topic" "events" {
  count = local.create_event_topic ? 1 : 0

  name              = "${var.name}-events"
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")

  tags = var.tags
}

locals {
  # A plain bool decides what depends on the topic: its ARN is unknown until it exists.
  create_event_topic = local.create && var.create_event_topic
  event_topic_arn    = local.create_event_topic ? aws_sns_topic.events[0].arn : null
}
