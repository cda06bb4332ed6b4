# One CloudWatch dashboard, a row per concern: ingress, queue, processor, consumers.
# The processor's metrics are its EMF output (lambda/webhook_processor/metrics.py); the rest
# are the services' own (AWS/ApiGateway, AWS/SQS, AWS/Lambda). tests/plan/test_observability_plan.py
# checks that every metric named here is one of those, with its real dimension names.
# Every metric widget names its region (PutDashboard requires it), and the region must be
# known at plan time so that the planned dashboard_body can be checked (tests/plan): the
# queue's ARN, where the rest of the module reads it from, is known only after apply. `id`
# is the region's name in both 5.x and 6.x (6.x deprecates `name`).
data "aws_region" "dashboard" {
  count = local.create && var.create_dashboard ? 1 : 0
}

locals {
  dashboard_name   = "${var.name}-webhooks"
  dashboard_region = try(data.aws_region.dashboard[0].id, "")

  dashboard_api = {
    Stage = var.stage_name
  }
  # The API that serves each source: s3 sources are on the payloads API (payload_api.tf).
  dashboard_api_names = {
    for name, s in local.sources : name => s.payload_store == "s3" ? "${var.name}-payloads" : var.name
  }
  # Each API's errors and latency: the queue API when it has sources, the payloads API when it has.
  dashboard_apis = concat(
    local.create_queue_api ? [{ name = var.name, label = "" }] : [],
    local.create_payload_api ? [{ name = "${var.name}-payloads", label = "payloads " }] : [],
  )
  dashboard_function = local.processor_function_name
  dashboard_queues = {
    main = try(aws_sqs_queue.this[0].name, "")
    dlq  = try(aws_sqs_queue.dlq[0].name, "")
  }
  # A SEARCH over one metric of the processor's, for every source (and status) it has seen:
  # the dashboard needs no edit when a source is added, and shows sources that are retired.
  dashboard_search = {
    outcomes   = "SEARCH('{${local.metrics_namespace},Service,Source,Status} MetricName=\"Webhooks\" Service=\"${var.name}\"', 'Sum', 300)"
    reasons    = "SEARCH('{${local.metrics_namespace},Service,Source,Status,Reason} MetricName=\"Webhooks\" Service=\"${var.name}\"', 'Sum', 300)"
    age_p50    = "SEARCH('{${local.metrics_namespace},Service,Source} MetricName=\"EventAge\" Service=\"${var.name}\"', 'p50', 300)"
    age_p99    = "SEARCH('{${local.metrics_namespace},Service,Source} MetricName=\"EventAge\" Service=\"${var.name}\"', 'p99', 300)"
    published  = "SEARCH('{${local.metrics_namespace},Service,Source} MetricName=\"Published\" Service=\"${var.name}\"', 'Sum', 300)"
    rejections = "SEARCH('{${local.metrics_namespace},Service,Source,Status} MetricName=\"Webhooks\" Service=\"${var.name}\" Status=\"rejected\"', 'Sum', 300)"
  }

  dashboard_rows = concat([
    {
      title = "Ingress: requests by source, API errors and latency (a 429 from throttling counts as 4XX)"
      widgets = [
        {
          title = "Requests by source"
          stat  = "Sum"
          metrics = [for name in sort(keys(local.sources)) : [
            "AWS/ApiGateway", "Count", "ApiName", local.dashboard_api_names[name], "Method", "POST",
            "Resource", "/webhooks/${name}", "Stage", local.dashboard_api.Stage, { label = name }
          ]]
        },
        {
          title = "API 4XX and 5XX"
          stat  = "Sum"
          # concat(...), not flatten(): flatten would also flatten each metric's own list.
          metrics = concat([], [for api in local.dashboard_apis : [for metric in ["4XXError", "5XXError"] : [
            "AWS/ApiGateway", metric, "ApiName", api.name, "Stage", local.dashboard_api.Stage, { label = "${api.label}${metric}" }
          ]]]...)
        },
        {
          title = "API latency (ms)"
          stat  = "p99"
          metrics = concat([], [for api in local.dashboard_apis : [
            ["AWS/ApiGateway", "Latency", "ApiName", api.name, "Stage", local.dashboard_api.Stage, { stat = "p50", label = "${api.label}Latency p50" }],
            ["AWS/ApiGateway", "Latency", "ApiName", api.name, "Stage", local.dashboard_api.Stage, { label = "${api.label}Latency p99" }],
            ["AWS/ApiGateway", "IntegrationLatency", "ApiName", api.name, "Stage", local.dashboard_api.Stage, { label = api.label == "" ? "SQS integration p99" : "S3 integration p99" }],
          ]]...)
        },
        {
          title   = "Rejected by source (bad or missing signature)"
          stat    = "Sum"
          metrics = [[{ expression = local.dashboard_search.rejections, id = "rejected", label = "" }]]
        },
      ]
    },
    {
      title = "Queue: depth, oldest message, dead letters"
      widgets = [
        {
          title = "Main queue"
          stat  = "Maximum"
          metrics = [for metric in ["ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible"] : [
            "AWS/SQS", metric, "QueueName", local.dashboard_queues.main
          ]]
        },
        {
          title   = "Oldest message age (s)"
          stat    = "Maximum"
          metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.dashboard_queues.main]]
          annotations = {
            horizontal = [{ label = "alarm", value = var.alarm_oldest_message_age_seconds }]
          }
        },
        {
          title   = "Dead-letter queue"
          stat    = "Maximum"
          metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dashboard_queues.dlq]]
        },
      ]
    },
    {
      title = "Processor: outcomes by source and status, event age, errors, duration, concurrency"
      widgets = [
        {
          title   = "Outcomes by source and status"
          stat    = "Sum"
          metrics = [[{ expression = local.dashboard_search.outcomes, id = "outcomes", label = "" }]]
        },
        {
          title   = "Not processed, by reason"
          stat    = "Sum"
          metrics = [[{ expression = local.dashboard_search.reasons, id = "reasons", label = "" }]]
        },
        {
          title = "Event age at processing (ms), p50 and p99"
          stat  = "p99"
          metrics = [
            [{ expression = local.dashboard_search.age_p50, id = "age_p50", label = "p50" }],
            [{ expression = local.dashboard_search.age_p99, id = "age_p99", label = "p99" }],
          ]
        },
        {
          title = "Published to consumers, batch size"
          stat  = "Sum"
          metrics = [
            [{ expression = local.dashboard_search.published, id = "published", label = "published" }],
            [local.metrics_namespace, "BatchSize", "Service", var.name, { stat = "Average", label = "batch size (avg)" }],
          ]
        },
        {
          title = "Errors and throttles"
          stat  = "Sum"
          metrics = [for metric in ["Errors", "Throttles"] : [
            "AWS/Lambda", metric, "FunctionName", local.dashboard_function
          ]]
        },
        {
          title = "Duration (ms)"
          stat  = "Maximum"
          metrics = [
            ["AWS/Lambda", "Duration", "FunctionName", local.dashboard_function, { stat = "p50", label = "p50" }],
            ["AWS/Lambda", "Duration", "FunctionName", local.dashboard_function, { label = "max" }],
          ]
          annotations = {
            horizontal = [{ label = "timeout", value = var.processor_timeout * 1000 }]
          }
        },
        {
          title   = "Concurrency"
          stat    = "Maximum"
          metrics = [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.dashboard_function]]
          annotations = {
            horizontal = [{ label = "maximum_concurrency", value = var.processor_maximum_concurrency }]
          }
        },
      ]
    },
    ], [
    # A row only when there are consumers (a for, as the two branches' types differ).
    for _ in length(module.consumer) == 0 ? [] : [1] : {
      title = "Consumers: each queue's depth, oldest message and dead letters"
      widgets = flatten([for key in sort(keys(module.consumer)) : [
        {
          title = "${key}: queue and dead letters"
          stat  = "Maximum"
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", module.consumer[key].queue_name, { label = "queued" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${module.consumer[key].queue_name}-dlq", { label = "dead letters" }],
          ]
        },
        {
          title   = "${key}: oldest message age (s)"
          stat    = "Maximum"
          metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", module.consumer[key].queue_name]]
        },
      ]])
    }
  ])

  # Grid: 24 columns; each row a one-line heading, then its widgets, 4 to a line.
  dashboard_row_heights = [for row in local.dashboard_rows : 1 + 6 * ceil(length(row.widgets) / 4)]
  dashboard_widgets = flatten([for r, row in local.dashboard_rows : concat(
    [{
      type       = "text"
      x          = 0
      y          = sum(concat([0], slice(local.dashboard_row_heights, 0, r)))
      width      = 24
      height     = 1
      properties = { markdown = "### ${row.title}" }
    }],
    [for i, w in row.widgets : {
      type   = "metric"
      x      = 6 * (i % 4)
      y      = sum(concat([0], slice(local.dashboard_row_heights, 0, r))) + 1 + 6 * floor(i / 4)
      width  = 6
      height = 6
      properties = merge(
        {
          title   = w.title
          region  = local.dashboard_region
          view    = "timeSeries"
          stacked = false
          period  = 300
          stat    = w.stat
          metrics = w.metrics
        },
        try({ annotations = w.annotations }, {}),
      )
    }],
  )])

  # The console's address for the partition (China and GovCloud have their own consoles).
  console_host = local.partition == "aws-cn" ? "console.amazonaws.cn" : (
    local.partition == "aws-us-gov" ? "console.amazonaws-us-gov.com" : "console.aws.amazon.com"
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = local.create && var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
