################################################################################
# The filter policy
################################################################################

# The webhook module publishes each processed event to its topic with the envelope
# (docs/event-envelope.schema.json) as the message body and four String message
# attributes: source, event_type, event_id, scheme. Without a body filter the
# subscription filters the attributes; with one it must filter the body (SNS applies
# one scope per subscription), where source and event_type are envelope fields and the
# parsed body is under `json`:
#
#   attributes: {"source": ["stripe"], "event_type": ["invoice.paid", {"prefix": "payment_intent."}]}
#   body:       {"source": ["github"], "event_type": ["issues"], "json": {"action": ["opened"]}}
#
# No sources, no event types and no body filter: no filter policy at all (every event,
# also ones with attributes a future envelope adds).
locals {
  sources     = distinct(var.sources)
  event_types = distinct(var.event_types)
  body_filter = { for field, accepted in var.body_filter : field => distinct(accepted) }
  body_scope  = length(local.body_filter) > 0

  # One SNS match rule per pattern, JSON-encoded (a list cannot mix strings and objects
  # in HCL): "a.b" stays an exact string, "a.*" becomes {"prefix": "a."}.
  event_type_rules = [
    for p in local.event_types : endswith(p, ".*") ? jsonencode({ prefix = trimsuffix(p, "*") }) : jsonencode(p)
  ]
  filter_policy_members = compact([
    length(local.sources) > 0 ? "\"source\":${jsonencode(local.sources)}" : "",
    length(local.event_types) > 0 ? "\"event_type\":[${join(",", local.event_type_rules)}]" : "",
    local.body_scope ? "\"json\":${jsonencode(local.body_filter)}" : "",
  ])
  # Re-encoded once decoded: the canonical form (sorted keys) SNS and the provider compare.
  filter_policy       = length(local.filter_policy_members) == 0 ? null : jsonencode(jsondecode("{${join(",", local.filter_policy_members)}}"))
  filter_policy_scope = local.filter_policy == null ? null : (local.body_scope ? "MessageBody" : "MessageAttributes")

  # What SNS refuses, from "Filter policy constraints" in the SNS Developer Guide
  # (https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html):
  # - at most 5 keys per filter policy. The guide has counted them two ways for
  #   payload-based policies (every key that holds values, or only top-level keys);
  #   counting every key that holds values (source, event_type, json.<field>) satisfies both.
  # - at most 150 combinations of values: the product of the number of values of each
  #   key. For payload-based policies the guide's example also multiplies each array by
  #   the depth of its key (json.<field> is at depth 2), as does moto; counted that way too,
  #   so a policy accepted here is accepted by either reading.
  filter_keys = concat(
    length(local.sources) > 0 ? ["source"] : [],
    length(local.event_types) > 0 ? ["event_type"] : [],
    [for field in keys(local.body_filter) : "json.${field}"],
  )
  combination_factors = concat(
    length(local.sources) > 0 ? [length(local.sources)] : [],
    length(local.event_types) > 0 ? [length(local.event_types)] : [],
    [for accepted in values(local.body_filter) : 2 * length(accepted)],
  )
  # No product() in HCL: a sum of logarithms, rounded back to the whole number it is.
  filter_combinations = floor(pow(2, sum(concat([0], [for n in local.combination_factors : log(n, 2)]))) + 0.5)
}

################################################################################
# Subscription: the topic delivers matching events to the queue, raw
################################################################################

resource "aws_sns_topic_subscription" "this" {
  topic_arn = var.topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.this.arn

  # The envelope itself is the SQS message body, and the four SNS attributes become
  # SQS message attributes: no SNS JSON wrapper to unpack.
  raw_message_delivery = true
  filter_policy        = local.filter_policy
  filter_policy_scope  = local.filter_policy_scope

  # What SNS cannot deliver (a queue key SNS may not use, a deleted queue) goes to the
  # consumer's DLQ after SNS's retries, where its alarm sees it, instead of being dropped.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dlq.arn })

  # Subscribing before the queue policy lets SNS in would drop the first events.
  depends_on = [aws_sqs_queue_policy.this, aws_sqs_queue_policy.dlq]

  # The consumer's input rules that no other resource carries. Here, on the one
  # resource nothing else waits for, so that one plan reports all of them.
  lifecycle {
    precondition {
      condition     = var.enabled || var.function_name != null
      error_message = "enabled = false pauses the consumer's function (its event source mapping), but ${var.name} has no function_name, so there is nothing to pause: its queue keeps receiving events either way. Stop whatever polls the queue instead, or set function_name."
    }
    precondition {
      condition     = length(local.filter_keys) <= 5
      error_message = "The filter policy would have ${length(local.filter_keys)} keys (${join(", ", local.filter_keys)}); SNS accepts at most 5 per subscription. Filter on fewer body_filter fields (sources and event_types take one key each)."
    }
    precondition {
      condition     = local.filter_combinations <= 150
      error_message = "The filter policy would have ${local.filter_combinations} combinations of values (${join(" x ", local.combination_factors)}: the number of sources x event_types x 2 x the values of each body_filter field, which SNS counts twice because it is nested under json); SNS accepts at most 150. Use prefix patterns (payment_intent.* is one value), fewer values, or split the consumer in two."
    }
  }
}

################################################################################
# Event source mapping (optional)
################################################################################

resource "aws_lambda_event_source_mapping" "this" {
  count = var.function_name == null ? 0 : 1

  event_source_arn = aws_sqs_queue.this.arn
  function_name    = var.function_name
  # Paused: Lambda stops polling; the events wait in the queue.
  enabled                            = var.enabled
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  # Only the records the function reports as failed are retried (and, after
  # max_receive_count deliveries, go to the DLQ); the rest of the batch is done.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  # Lambda checks the role can receive from the queue when the mapping is created.
  depends_on = [aws_iam_role_policy.consumer]

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.batching_window_seconds > 0
      error_message = "batch_size ${var.batch_size} (above 10) needs batching_window_seconds > 0 (an SQS trigger rule)."
    }
  }
}
