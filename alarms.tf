resource "aws_sns_topic" "this" {
  count = local.create && var.create_sns_topic ? 1 : 0

  name = "${var.name}-alarms"
  # CloudWatch alarms cannot publish to a topic encrypted with the AWS managed
  # SNS key, so without a customer key the topic stays unencrypted (alarm
  # notifications carry no webhook data).
  kms_master_key_id = var.kms_key_arn

  tags = var.tags

  # checkov:skip=CKV_AWS_26:Encrypted when kms_key_arn is given; the AWS managed SNS key would silently break alarm delivery, and the topic only carries alarm state changes.
}

resource "aws_sns_topic_subscription" "email" {
  for_each = local.create && var.create_sns_topic ? toset(var.alarm_emails) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  alarm_topic_arn = var.create_sns_topic ? try(aws_sns_topic.this[0].arn, null) : var.sns_topic_arn
  alarm_actions   = local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]

  # The processor's own metrics (lambda/webhook_processor/metrics.py, README "Metrics, dashboard
  # and alarms"): namespace, and the Service dimension, the module's name on every metric.
  metrics_namespace = "WebhookIngest"
  history_table     = "${var.name}-history" # dynamodb.tf
  # Runbook commands, as an operator types them from the root module's directory.
  ctl = "python -m tools.webhookctl"
  # Statuses a delivery can end in (one Webhooks metric per source and status); failed is transient.
  final_statuses = ["processed", "duplicate", "rejected", "invalid"]
  # Below this many rejections in 5 minutes the ratio is not alarmed: anyone can post a forged
  # request, and one forgery among three events would be 33 %.
  alarm_min_rejections = 5
  alarm_min_requests   = 20
  # Silence alarms: periods of 5 minutes below an hour, else of an hour; at most 24 periods.
  silence = {
    for name, s in local.sources : name => {
      period  = s.alert_after_silence_seconds < 3600 ? 300 : 3600
      periods = ceil(s.alert_after_silence_seconds / (s.alert_after_silence_seconds < 3600 ? 300 : 3600))
    } if s.alert_after_silence_seconds != null
  }

  # Every alarm has every attribute (merged over these), so that the map's values share one
  # type and the conditional below can choose between it and {}.
  alarm_defaults = {
    name                = null
    period              = 60
    evaluation_periods  = 1
    comparison_operator = "GreaterThanThreshold"
    treat_missing_data  = "notBreaching"
  }
  alarms = local.create && var.create_alarms ? { for key, alarm in merge({
    # The recipe watched ApproximateNumberOfVisibleMessages, which does not exist.
    dlq_messages = {
      description = "Webhooks reached the dead-letter queue: they failed processing ${var.queue_max_receive_count} times. See why: `${local.ctl} dlq list --queue-url ${aws_sqs_queue.dlq[0].url}`; fix the cause (README \"Replaying\"), then `${local.ctl} dlq replay --dlq-url ${aws_sqs_queue.dlq[0].url} --queue-url ${aws_sqs_queue.this[0].url}`."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dlq[0].name }
      statistic   = "Maximum"
      threshold   = 0
    }
    queue_oldest_message_age = {
      description = "The processor is falling behind, failing or paused (processor_enabled = false): the oldest queued webhook is older than ${var.alarm_oldest_message_age_seconds} s. Check the processor's errors and throttles on the dashboard, and whether it handles anything: `${local.ctl} stats --table ${local.history_table} --since 1h`."
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = aws_sqs_queue.this[0].name }
      statistic   = "Maximum"
      threshold   = var.alarm_oldest_message_age_seconds
    }
    processor_errors = {
      description = "The webhook processor failed invocations (whole batches are retried). Read the errors in its log group (processor_log_group_name); records that keep failing reach the DLQ: `${local.ctl} dlq list --queue-url ${aws_sqs_queue.dlq[0].url}`."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this[0].function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    processor_throttles = {
      description = "The webhook processor was throttled (account or reserved concurrency): raise the account's Lambda concurrency or lower processor_maximum_concurrency's share. Queue age shows the backlog; `${local.ctl} stats --table ${local.history_table} --since 1h` shows what still gets through."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = aws_lambda_function.this[0].function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    # The processor stops starting records at 80 % of its timeout (the safety margin): a
    # longest invocation above that means batches are being cut short and handed back.
    processor_duration = {
      description = "The webhook processor ran for more than 80 % of its ${var.processor_timeout} s timeout: batches are cut short and handed back (each hand-back counts toward the DLQ). Raise processor_timeout or lower processor_batch_size (the module says what fits); the records it hands back show on the dashboard as failed (reason deadline), and `${local.ctl} stats --table ${local.history_table} --since 1h` shows what still gets through."
      namespace   = "AWS/Lambda"
      metric      = "Duration"
      dimensions  = { FunctionName = aws_lambda_function.this[0].function_name }
      statistic   = "Maximum"
      threshold   = var.processor_timeout * 800
    }
    }, local.create_queue_api ? {
    api_5xx = {
      description = "The webhook API answered 5XX: senders are retrying (queue unavailable, its policy or the API role misconfigured, or KMS). Read the access logs (access_log_group_name) for integrationStatus; `${local.ctl} stats --table ${local.history_table} --since 1h` shows which sources stopped arriving."
      namespace   = "AWS/ApiGateway"
      metric      = "5XXError"
      dimensions  = { ApiName = aws_api_gateway_rest_api.this[0].name, Stage = aws_api_gateway_stage.this[0].stage_name }
      statistic   = "Sum"
      threshold   = 0
    }
    } : {}, local.create_payload_api ? {
    payload_api_5xx = {
      description = "The payloads API (sources with payload_store = \"s3\") answered 5XX: senders are retrying because S3 did not store their bodies (an outage, throttling, the API role's s3:PutObject or the bucket key's policy). Read the access logs (access_log_group_name, apiId of payload_rest_api_id) for integrationStatus; `${local.ctl} stats --table ${local.history_table} --since 1h` shows which sources stopped arriving."
      namespace   = "AWS/ApiGateway"
      metric      = "5XXError"
      dimensions  = { ApiName = aws_api_gateway_rest_api.payloads[0].name, Stage = aws_api_gateway_stage.payloads[0].stage_name }
      statistic   = "Sum"
      threshold   = 0
    }
    } : {}, {
    # A responder that fails answers its sender 5XX (API Gateway's 502 for a function error), and
    # the provider retries: a failed handshake also keeps the provider from enabling the endpoint.
    for name, s in local.handshake_sources : "responder_errors_${name}" => {
      name        = "responder-errors-${name}"
      description = "The responder of source ${name} (handshake = true) failed invocations: its sender got 5XX and retries, and a failed ${s.scheme} endpoint check keeps the provider from sending. Read its log group (/aws/lambda/${local.responder_function_names[name]}): a missing or wrong secret (secret_arns output), or the queue refusing its SendMessage; `${local.ctl} stats --table ${local.history_table} --source ${name} --since 1h` shows whether events still arrive."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = local.responder_function_names[name] }
      statistic   = "Sum"
      threshold   = 0
    }
    }, {
    # A source that has gone quiet: a provider disables an endpoint after failures (Stripe and
    # GitHub both do). No datapoint at all is the point, so missing data is breaching.
    for name, w in local.silence : "silence_${name}" => {
      name                = "silence-${name}"
      description         = "Source ${name} has had no processed webhook for ${local.sources[name].alert_after_silence_seconds} s (rounded up to ${w.periods} x ${w.period} s). Check the provider's webhook settings (a disabled endpoint, failed deliveries), then the last rows: `${local.ctl} history list --table ${local.history_table} --source ${name} --limit 5`; and `${local.ctl} stats --table ${local.history_table} --source ${name} --since 1d`."
      namespace           = local.metrics_namespace
      metric              = "Webhooks"
      dimensions          = { Service = var.name, Source = name, Status = "processed" }
      statistic           = "Sum"
      threshold           = 1
      comparison_operator = "LessThanThreshold"
      period              = w.period
      evaluation_periods  = w.periods
      treat_missing_data  = "breaching"
    }
  }) : key => merge(local.alarm_defaults, alarm) } : {}

  # Alarms on metric math: one expression (`e`) over the metrics named by id.
  math_alarms = local.create && var.create_alarms ? merge({
    for name, s in local.sources : "rejected_ratio_${name}" => {
      name        = "rejected-ratio-${name}"
      description = "More than ${var.alarm_rejected_percent} % of ${name}'s deliveries in 5 minutes were rejected (at least ${local.alarm_min_rejections}): most likely a wrong or rotated signing secret. See the reasons: `${local.ctl} history list --table ${local.history_table} --source ${name} --status rejected`; fix the secret (secret_arns output, README \"Secrets and rotation\"), then recover the events: `${local.ctl} history requeue --table ${local.history_table} --queue-url ${aws_sqs_queue.this[0].url} --source ${name} --reason signature_mismatch --since <when it started>`."
      threshold   = var.alarm_rejected_percent
      expression  = "IF(FILL(rejected, 0) >= ${local.alarm_min_rejections}, 100 * FILL(rejected, 0) / (FILL(rejected, 0) + FILL(processed, 0) + FILL(duplicate, 0) + FILL(invalid, 0)), 0)"
      label       = "Rejected % of ${name}"
      metrics = {
        for status in local.final_statuses : status => {
          namespace  = local.metrics_namespace
          metric     = "Webhooks"
          dimensions = { Service = var.name, Source = name, Status = status }
        }
      }
    } if s.verified
    }, local.create_queue_api ? {
    api_4xx_rate = {
      name        = "api-4xx-rate"
      description = "More than ${var.alarm_api_4xx_percent} % of the API's requests in 5 minutes were answered 4XX (at least ${local.alarm_min_requests} requests): a sender is stuck on a refusal (415 content type, 413 size, 400 body, 403 allowlist, 429 throttling) and retries. Find it in the access logs (status, resourcePath; create_access_logs) or per source on the dashboard; `${local.ctl} stats --table ${local.history_table} --since 1h` shows which source stopped arriving."
      threshold   = var.alarm_api_4xx_percent
      expression  = "IF(FILL(requests, 0) >= ${local.alarm_min_requests}, 100 * FILL(errors, 0) / FILL(requests, 0), 0)"
      label       = "4XX % of requests"
      metrics = {
        for id, metric in { errors = "4XXError", requests = "Count" } : id => {
          namespace                = "AWS/ApiGateway"
          metric                   = metric
          dimensions               = { ApiName = aws_api_gateway_rest_api.this[0].name, Stage = aws_api_gateway_stage.this[0].stage_name }
        }
      }
    }
  } : {}) : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  # Source names keep their spelling (foo_bar and foo-bar are two sources).
  alarm_name          = "${var.name}-${coalesce(each.value.name, replace(each.key, "_", "-"))}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison_operator
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "math" {
  for_each = local.math_alarms

  alarm_name          = "${var.name}-${each.value.name}"
  alarm_description   = each.value.description
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  # No traffic, no datapoint: nothing to alarm on (the silence alarms watch for that).
  treat_missing_data = "notBreaching"
  alarm_actions      = local.alarm_actions
  ok_actions         = local.alarm_actions

  metric_query {
    id          = "e"
    expression  = each.value.expression
    label       = each.value.label
    return_data = true
  }

  dynamic "metric_query" {
    for_each = each.value.metrics
    content {
      id = metric_query.key
      metric {
        namespace   = metric_query.value.namespace
        metric_name = metric_query.value.metric
        dimensions  = metric_query.value.dimensions
        stat        = "Sum"
        period      = 300
      }
    }
  }

  tags = var.tags
}
