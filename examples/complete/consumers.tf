# The payments consumer's function: examples/complete/payments_consumer/handler.py, a
# template for a team's own consumer (its docstring says what to keep). The webhook
# module creates its queue, DLQ, subscription and event source mapping, and attaches the
# queue's least-privilege policy to its role (function_role_name); this file creates
# what only the team knows: the code, its role's other permissions and its table.

data "archive_file" "payments" {
  type        = "zip"
  source_file = "${path.module}/payments_consumer/handler.py"
  output_path = "${path.module}/.build/${var.name}-payments-consumer.zip"
}

# Where the function records each event once (hash key event_id).
resource "aws_dynamodb_table" "payments_seen" {
  name         = "${var.name}-payments-seen"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "event_id"

  attribute {
    name = "event_id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  tags = var.tags

  # checkov:skip=CKV_AWS_119:The example uses DynamoDB's AWS managed key; pass a kms_key_arn of your own in a real consumer.
}

data "aws_iam_policy_document" "payments_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "payments" {
  name               = "${var.name}-payments-consumer"
  path               = "/webhooks/"
  description        = "Execution role of the ${var.name} payments consumer (the module attaches its queue policy)."
  assume_role_policy = data.aws_iam_policy_document.payments_assume.json

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "payments" {
  name              = "/aws/lambda/${var.name}-payments-consumer"
  retention_in_days = 14

  tags = var.tags

  # checkov:skip=CKV_AWS_338:An example's logs; the events are kept in history and in the payments table.
  # checkov:skip=CKV_AWS_158:The example keeps CloudWatch Logs' default encryption; use a customer key in a real consumer.
}

# Its logs and its table, nothing else. PutItem records an event once; UpdateItem adds
# a replay's id to a row recorded before.
data "aws_iam_policy_document" "payments" {
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.payments.arn}:*"]
  }
  statement {
    sid       = "RecordPayments"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.payments_seen.arn]
  }
}

resource "aws_iam_role_policy" "payments" {
  name   = "payments-consumer"
  role   = aws_iam_role.payments.id
  policy = data.aws_iam_policy_document.payments.json
}

resource "aws_lambda_function" "payments" {
  function_name    = "${var.name}-payments-consumer"
  description      = "Example consumer of ${var.name}'s event topic: records payment events once."
  role             = aws_iam_role.payments.arn
  runtime          = "python3.12"
  handler          = "handler.lambda_handler"
  filename         = data.archive_file.payments.output_path
  source_code_hash = data.archive_file.payments.output_base64sha256
  # The consumer queue's visibility timeout (180 s by default) is 6 x this.
  timeout     = 30
  memory_size = 128

  environment {
    variables = {
      TABLE_NAME = aws_dynamodb_table.payments_seen.name
    }
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.payments.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.payments]

  # checkov:skip=CKV_AWS_116:SQS-triggered: failed records go to the consumer queue's DLQ (the module's redrive policy); a Lambda DLQ only applies to asynchronous invocations.
  # checkov:skip=CKV_AWS_117:Calls only DynamoDB and CloudWatch Logs; no VPC needed.
  # checkov:skip=CKV_AWS_115:Concurrency is capped by the consumer's maximum_concurrency on its SQS trigger.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile an example cannot assume.
  # checkov:skip=CKV_AWS_173:The environment holds only a table name.
  # checkov:skip=CKV_AWS_50:X-Ray is the module's xray_tracing_enabled choice; the example does not trace.
}
