################################################################################
# Identity
################################################################################

variable "name" {
  description = "Name of the consumer's queue; its dead-letter queue is <name>-dlq and its alarms <name>-dlq-messages and <name>-oldest-message-age. The root module's `consumers` map uses <module name>-<consumer key>."
  type        = string
  nullable    = false

  validation {
    # SQS queue names: 1-80 letters, digits, '-' or '_'; "-dlq" takes 4 of them.
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must hold 1-76 letters, digits, '-' or '_' (it names an SQS queue, and <name>-dlq must fit SQS's 80 characters)."
  }
}

variable "topic_arn" {
  description = "ARN of the webhook module's event topic (its `event_topic_arn` output). Another configuration or account may pass it as a plain string; the topic's policy must then allow sns:Subscribe for this account."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.topic_arn))
    error_message = "topic_arn must be a standard SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME); FIFO topics (.fifo) are not supported, the consumer's queues are standard queues."
  }
}

variable "tags" {
  description = "Tags for the queues and alarms."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# What the consumer receives (the subscription's filter policy)
################################################################################

variable "sources" {
  description = "Sources (the webhook module's `sources` keys) whose events this consumer receives. [] (the default): every source."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.sources : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", s))])
    error_message = "Each sources entry is a source name as the webhook module's sources map keys it (1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit); refused: ${join(", ", [for s in var.sources : jsonencode(s) if !can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", s))])}. Leave sources empty for every source."
  }
}

variable "event_types" {
  description = "Event types this consumer receives: exact names (`invoice.paid`, `issues`) or prefix patterns ending in a single `.*` (`payment_intent.*` matches every type that starts with `payment_intent.`). [] (the default): every event type."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.event_types : can(regex("^[^*[:space:]]{1,256}$", p)) || can(regex("^[^*[:space:]]{1,254}\\.\\*$", p))])
    error_message = "Each event_types entry must be an exact event type (payment_intent.succeeded) or a prefix pattern with a single trailing \".*\" (payment_intent.*): no other '*', no whitespace, not empty (at most 256 characters). Refused: ${join(", ", [for p in var.event_types : jsonencode(p) if !(can(regex("^[^*[:space:]]{1,256}$", p)) || can(regex("^[^*[:space:]]{1,254}\\.\\*$", p)))])}. Leave event_types empty for every event type."
  }
}

variable "body_filter" {
  description = <<-EOT
    Optional filter on the event's parsed JSON body: top-level field name -> the string values accepted
    (any one of them). With it the subscription filters the message body (filter_policy_scope MessageBody)
    on the envelope's `source`, `event_type` and `json.<field>`; events whose body is not JSON (json is null)
    or was omitted for size never match. Values match JSON strings only (not numbers or booleans),
    case-sensitively. {} (the default): no body filter (the subscription filters message attributes).
  EOT
  type        = map(list(string))
  default     = {}
  nullable    = false

  validation {
    # Nested paths (data.object.status) would need nested policy objects: not supported.
    condition     = alltrue([for f in keys(var.body_filter) : can(regex("^[A-Za-z0-9_$@-]{1,128}$", f))])
    error_message = "body_filter keys are top-level JSON field names (1-128 letters, digits, '_', '-', '$' or '@'; nested paths such as data.object.status are not supported). Refused: ${join(", ", [for f in keys(var.body_filter) : jsonencode(f) if !can(regex("^[A-Za-z0-9_$@-]{1,128}$", f))])}."
  }
  validation {
    condition     = alltrue([for v in values(var.body_filter) : length(v) > 0])
    error_message = "Each body_filter field needs at least one accepted value (drop the field to accept any); empty: ${join(", ", [for f, v in var.body_filter : f if length(v) == 0])}."
  }
}

################################################################################
# Queues
################################################################################

variable "max_receive_count" {
  description = "Deliveries of one message to the consumer before SQS moves it to the consumer's dead-letter queue."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = floor(var.max_receive_count) == var.max_receive_count && var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the consumer's queue. AWS's guidance for a Lambda trigger is at least 6 x the function's timeout; the module cannot read that timeout, so check it yourself: the default, 180, fits functions with a timeout of up to 30 s (Lambda refuses a mapping whose queue timeout is below the function's)."
  type        = number
  default     = 180
  nullable    = false

  validation {
    condition     = floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds && var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be a whole number of seconds between 0 and 43200 (12 hours)."
  }
}

variable "message_retention_seconds" {
  description = "How long the consumer's queue keeps an event nobody consumed (also while the consumer is paused). SQS counts retention from the first enqueue, in the dead-letter queue too (14 days). Default 14 days, the longest SQS allows."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = floor(var.message_retention_seconds) == var.message_retention_seconds && var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be a whole number of seconds between 60 and 1209600 (14 days)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for both queues. Null: SSE-SQS (SQS-owned keys). A customer key's policy must let sns.amazonaws.com call kms:GenerateDataKey* and kms:Decrypt, or SNS cannot deliver to the queue; the consumer role gets kms:Decrypt."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

variable "replay_principal_arns" {
  description = "IAM roles or users (ARNs) that may send to the consumer's queue besides the topic (`webhookctl history replay --consumer`), and read, delete and send on its dead-letter queue. The queue policy denies sqs:SendMessage to every other principal."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.replay_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", a))])
    error_message = "replay_principal_arns must be IAM role or user ARNs (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

################################################################################
# The consumer's function (optional)
################################################################################

variable "enabled" {
  description = "False pauses the consumer without losing anything: the subscription stays, so events keep arriving and wait in the queue (up to message_retention_seconds), and the event source mapping is disabled. True resumes it. Needs function_name (without a mapping there is nothing to pause: refused)."
  type        = bool
  default     = true
  nullable    = false
}

variable "function_name" {
  description = "Lambda function (name or ARN) to trigger from the queue. Null: no event source mapping; consume the queue yourself (queue_url, consumer_policy_json)."
  type        = string
  default     = null

  validation {
    condition     = var.function_name == null || can(regex("^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$", var.function_name))
    error_message = "function_name must be a Lambda function name or ARN (optionally with :ALIAS or :VERSION)."
  }
}

variable "function_role_name" {
  description = "Name (not ARN) of an IAM role that gets the consumer's least-privilege inline policy (receive, delete, change visibility and read attributes on the queue; kms:Decrypt when kms_key_arn is set): usually the function's execution role. Null: attach consumer_policy_json yourself."
  type        = string
  default     = null

  validation {
    condition     = var.function_role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.function_role_name))
    error_message = "function_role_name must be an IAM role name (1-64 letters, digits or +=,.@_-), not an ARN."
  }
}

variable "batch_size" {
  description = "Most messages handed to one invocation of the consumer's function. Above 10 needs batching_window_seconds > 0."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = floor(var.batch_size) == var.batch_size && var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be a whole number between 1 and 10000."
  }
}

variable "batching_window_seconds" {
  description = "How long the event source mapping waits to fill a batch (0: invoke as soon as messages arrive)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = floor(var.batching_window_seconds) == var.batching_window_seconds && var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300
    error_message = "batching_window_seconds must be a whole number of seconds between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the queue's trigger starts. Keeps a slow or failing consumer from taking the account's Lambda concurrency away from the webhook processor and the other consumers."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = floor(var.maximum_concurrency) == var.maximum_concurrency && var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be a whole number between 2 and 1000 (the SQS trigger's limits)."
  }
}

################################################################################
# Alarms
################################################################################

variable "create_alarms" {
  description = "Create the consumer's two alarms: its dead-letter queue is not empty, and its oldest message is older than alarm_oldest_message_age_seconds (this one also fires while the consumer is paused)."
  type        = bool
  default     = true
  nullable    = false
}

variable "sns_topic_arn" {
  description = "SNS topic the alarms notify (on alarm and on OK), e.g. the webhook module's `sns_topic_arn` output. Not the event topic (that is topic_arn). Null: alarms without actions."
  type        = string
  default     = null

  validation {
    condition     = var.sns_topic_arn == null ? true : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.sns_topic_arn))
    error_message = "sns_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "alarm_oldest_message_age_seconds" {
  description = "Alarm when the oldest message on the consumer's queue is older than this: the consumer is falling behind, failing, or paused."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = floor(var.alarm_oldest_message_age_seconds) == var.alarm_oldest_message_age_seconds && var.alarm_oldest_message_age_seconds >= 1 && var.alarm_oldest_message_age_seconds <= 1209600
    error_message = "alarm_oldest_message_age_seconds must be a whole number of seconds between 1 and 1209600 (SQS reports the age in whole seconds, and keeps a message at most 14 days)."
  }
}
