################################################################################
# General
################################################################################

variable "create" {
  description = "Whether to create anything at all. False plans zero resources."
  type        = bool
  default     = true
  nullable    = false
}

variable "name" {
  description = "Prefix for every resource name (API, queues, table, function, roles, alarms)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name))
    error_message = "name must start with a letter and hold 1-40 letters, digits or hyphens (it prefixes SQS, Lambda and IAM names)."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the queues (the consumers' too), table, secrets, both SNS topics, logs and Lambda environment. Its key policy must let sns.amazonaws.com use it (kms:GenerateDataKey*, kms:Decrypt) when there are consumers, or SNS cannot deliver to their queues. Null uses AWS managed encryption (SSE-SQS, DynamoDB's AWS managed key, the default Secrets Manager key, the AWS managed SNS key for the event topic); the alarm topic is then left unencrypted because CloudWatch alarms cannot publish to a topic under the AWS managed SNS key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

variable "role_path" {
  description = "IAM path of the module's two roles (API Gateway -> SQS, processor). Their names are <name>-<region>-apigw-sqs and <name>-<region>-processor: IAM names are global to the account, so the region keeps two deployments of one name apart."
  type        = string
  default     = "/"
  nullable    = false

  validation {
    condition     = can(regex("^/([!-.0-~]+/)*$", var.role_path)) && length(var.role_path) <= 512
    error_message = "role_path must start and end with '/' (\"/\" or \"/team/webhooks/\"), hold at most 512 printable characters and no empty segment."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of a managed policy set as the permissions boundary of the module's two roles. Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null ? true : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be an IAM managed policy ARN (arn:aws:iam::ACCOUNT:policy/NAME)."
  }
}

################################################################################
# Sources (one POST /webhooks/{source} each)
################################################################################

variable "sources" {
  description = <<-EOT
    Webhook senders, keyed by the path segment they post to (POST /webhooks/<key>).
    scheme: stripe | github | shopify | slack | zoom | standard_webhooks | hmac_sha256 | none ("none" must be written out).
    secret_arn: an existing Secrets Manager secret holding the signing secret (a string, or a JSON array of
      strings during rotation). Null: the module creates an empty secret for the operator to fill.
    timestamp_tolerance_seconds: for schemes that sign a timestamp (stripe, slack, zoom, standard_webhooks).
    signature_header / signature_encoding (hex|base64) / signature_prefix: for hmac_sha256.
    delivery_id_header / event_type_header: override or add the headers that carry the delivery id and event type.
    content_types: accepted Content-Type values; anything else gets 415. Null (the default): what the scheme's
      provider sends: github and slack application/json and application/x-www-form-urlencoded (GitHub's form
      hooks, Slack's commands and interactivity), every other scheme application/json. Each media type is
      also accepted with charset=utf-8 or charset=UTF-8, with or without the space after ';' (an entry that
      has parameters already is accepted as written only).
    allowed_cidrs: when non-empty, only these sender CIDRs may post to this source (API resource policy).
    throttling_rate_limit / throttling_burst_limit: per-source stage throttling.
    alert_after_silence_seconds: alarm (<name>-silence-<key>) when the source has had no processed event for
      this long, 300 to 86400 s, rounded up to the alarm's period (5 min below an hour, else 1 h). Null (the
      default): no silence alarm. For senders that post steadily (a provider that disables an endpoint after
      failures goes quiet rather than failing).
    payload_store: "queue" (the default) or "s3". A queue source's body travels in the SQS message, so it is
      capped by queue_max_message_size (413 above it) and must be UTF-8 text. An s3 source's method writes
      the raw body, byte-exact, straight into the payload store (S3 PutObject, no Lambda on the way), up to
      API Gateway's 10 MB, with the scheme headers and the receive time as object metadata; the bucket's
      event notification is the message, and the processor verifies the signature over the object's exact
      bytes. s3 sources are served by a second REST API (<name>-payloads), because binary media types are
      API-wide: webhook_urls gives each source its URL. Needs create_payload_store. Takes any Content-Type,
      so content_types does not apply.
    handshake: slack and zoom only (false by default). Puts a small responder function on the source's method,
      which answers the provider's endpoint check synchronously (Slack's url_verification challenge, Zoom's
      endpoint.url_validation, repeated every 72 hours) after verifying its signature, and sends every other
      request to the queue with the same message the template makes (2xx only when SQS accepted it, 503
      otherwise; a forged handshake is 401 and never queued). The function has its own role: SendMessage on
      the queue and this source's secret, nothing else.
  EOT
  type = map(object({
    scheme                      = string
    secret_arn                  = optional(string)
    timestamp_tolerance_seconds = optional(number, 300)
    signature_header            = optional(string)
    signature_encoding          = optional(string, "hex")
    signature_prefix            = optional(string, "")
    delivery_id_header          = optional(string)
    event_type_header           = optional(string)
    content_types               = optional(list(string))
    allowed_cidrs               = optional(list(string), [])
    throttling_rate_limit       = optional(number)
    throttling_burst_limit      = optional(number)
    alert_after_silence_seconds = optional(number)
    payload_store               = optional(string, "queue")
    handshake                   = optional(bool, false)
  }))
  nullable = false

  validation {
    condition     = length(var.sources) > 0
    error_message = "sources must name at least one webhook sender."
  }
  validation {
    condition     = alltrue([for k in keys(var.sources) : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", k))])
    error_message = "Each sources key is a URL path segment: 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : contains(["stripe", "github", "shopify", "slack", "zoom", "standard_webhooks", "hmac_sha256", "none"], s.scheme)])
    error_message = "Each source's scheme must be one of stripe, github, shopify, slack, zoom, standard_webhooks, hmac_sha256 or none."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : s.scheme != "hmac_sha256" || try(length(s.signature_header) > 0, false)])
    error_message = "A source with scheme hmac_sha256 needs signature_header (the header that carries the HMAC)."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : contains(["hex", "base64"], s.signature_encoding)])
    error_message = "signature_encoding must be hex or base64."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : s.scheme != "none" || s.secret_arn == null])
    error_message = "A source with scheme none verifies nothing, so it takes no secret_arn."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : s.secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:", s.secret_arn))])
    error_message = "secret_arn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : floor(s.timestamp_tolerance_seconds) == s.timestamp_tolerance_seconds && s.timestamp_tolerance_seconds >= 30 && s.timestamp_tolerance_seconds <= 3600])
    error_message = "timestamp_tolerance_seconds must be a whole number of seconds between 30 and 3600."
  }
  validation {
    # These names are spliced into the VTL template inside single quotes.
    condition = alltrue(flatten([for s in values(var.sources) : [
      for h in compact([s.signature_header, s.delivery_id_header, s.event_type_header]) : can(regex("^[A-Za-z0-9-]{1,64}$", h))
    ]]))
    error_message = "Header names (signature_header, delivery_id_header, event_type_header) may hold only letters, digits and '-'."
  }
  validation {
    condition = alltrue(flatten([for s in values(var.sources) : [
      # The media type before any parameters (application/json; charset=utf-8 -> application/json).
      for ct in coalesce(s.content_types, []) : contains(["application/json", "application/x-www-form-urlencoded", "text/plain"], trimspace(split(";", ct)[0]))
    ]])) && alltrue([for s in values(var.sources) : s.content_types == null ? true : length(s.content_types) > 0])
    error_message = "content_types must be a non-empty subset of application/json, application/x-www-form-urlencoded and text/plain (optionally with parameters, such as application/json; charset=utf-8)."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : !s.handshake || contains(["slack", "zoom"], s.scheme)])
    error_message = "handshake applies to the schemes whose providers check the endpoint before sending events, slack (url_verification) and zoom (endpoint.url_validation); no other scheme has a handshake to answer."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : !s.handshake || s.payload_store == "queue"])
    error_message = "A source with handshake = true must have payload_store = \"queue\": its responder answers the handshake and sends every other request to the queue."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : contains(["queue", "s3"], s.payload_store)])
    error_message = "Each source's payload_store must be \"queue\" (the body travels in the SQS message) or \"s3\" (the body is written to the payload store at the edge)."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : s.payload_store != "s3" || s.content_types == null])
    error_message = "content_types applies to queue sources only: a source with payload_store = \"s3\" keeps any body as its exact bytes, whatever its Content-Type. Drop content_types from those sources."
  }
  validation {
    condition     = alltrue(flatten([for s in values(var.sources) : [for c in s.allowed_cidrs : can(cidrhost(c, 0))]]))
    error_message = "allowed_cidrs entries must be CIDR blocks such as 192.0.2.0/24."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : (s.throttling_rate_limit == null) == (s.throttling_burst_limit == null)])
    error_message = "Set both throttling_rate_limit and throttling_burst_limit for a source, or neither."
  }
  validation {
    # API Gateway's burst limit is an integer; its rate limit is a double.
    condition     = alltrue([for s in values(var.sources) : s.throttling_burst_limit == null ? true : floor(s.throttling_burst_limit) == s.throttling_burst_limit && s.throttling_burst_limit >= 0])
    error_message = "throttling_burst_limit must be a whole number of requests, 0 or more (throttling_rate_limit may be fractional)."
  }
  validation {
    condition     = alltrue([for s in values(var.sources) : s.throttling_rate_limit == null ? true : s.throttling_rate_limit >= 0])
    error_message = "throttling_rate_limit must be 0 or more requests per second (fractions are allowed)."
  }
  validation {
    # CloudWatch evaluates at most one day of periods; below 5 minutes a quiet minute would page.
    condition     = alltrue([for s in values(var.sources) : s.alert_after_silence_seconds == null ? true : floor(s.alert_after_silence_seconds) == s.alert_after_silence_seconds && s.alert_after_silence_seconds >= 300 && s.alert_after_silence_seconds <= 86400])
    error_message = "alert_after_silence_seconds must be null (no silence alarm) or a whole number of seconds between 300 and 86400 (one day)."
  }
}

variable "secret_recovery_window_days" {
  description = "Days Secrets Manager keeps a module-created signing secret after destroy before deleting it for good (its name stays taken meanwhile). 0 deletes at once, for ephemeral environments; otherwise 7 to 30."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.secret_recovery_window_days == 0 || (floor(var.secret_recovery_window_days) == var.secret_recovery_window_days && var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 (delete at once) or a whole number of days between 7 and 30."
  }
}

################################################################################
# API Gateway
################################################################################

variable "stage_name" {
  description = "API Gateway stage name (the first URL path segment)."
  type        = string
  default     = "v1"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.stage_name))
    error_message = "stage_name may hold 1-64 letters, digits, '_' or '-'."
  }
}

variable "stage_throttling_rate_limit" {
  description = "Steady-state requests per second allowed on each source's method (stage default method throttling)."
  type        = number
  default     = 100
  nullable    = false

  validation {
    condition     = var.stage_throttling_rate_limit > 0
    error_message = "stage_throttling_rate_limit must be positive (requests per second; fractions are allowed)."
  }
}

variable "stage_throttling_burst_limit" {
  description = "Burst of requests allowed on each source's method (stage default method throttling)."
  type        = number
  default     = 200
  nullable    = false

  validation {
    condition     = floor(var.stage_throttling_burst_limit) == var.stage_throttling_burst_limit && var.stage_throttling_burst_limit > 0
    error_message = "stage_throttling_burst_limit must be a whole, positive number of requests (API Gateway's burst limit is an integer)."
  }
}

variable "create_access_logs" {
  description = "Write API Gateway access logs (JSON, one line per request) to a module-managed log group. Off by default: API Gateway can only log once the region's account-level CloudWatch Logs role is set (aws_api_gateway_account), which this module does not manage; the README shows the one-time snippet."
  type        = bool
  default     = false
  nullable    = false
}

variable "xray_tracing_enabled" {
  description = "Enable X-Ray tracing on the API stage and the processor."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# Queues
################################################################################

variable "queue_visibility_timeout_seconds" {
  description = "Main queue visibility timeout. Null: 6 x processor_timeout, as AWS recommends for Lambda triggers. Must be at least that."
  type        = number
  default     = null

  validation {
    condition     = var.queue_visibility_timeout_seconds == null ? true : floor(var.queue_visibility_timeout_seconds) == var.queue_visibility_timeout_seconds && var.queue_visibility_timeout_seconds >= 0 && var.queue_visibility_timeout_seconds <= 43200
    error_message = "queue_visibility_timeout_seconds must be null or a whole number of seconds between 0 and 43200."
  }
}

variable "queue_message_retention_seconds" {
  description = "How long the main queue keeps a message the processor has not handled (a backlog buffer). SQS counts retention from a message's first enqueue, also in the dead-letter queue (14 days): a message that waited N days here keeps 14 - N days there. The default, 14 days, keeps every webhook recoverable for 14 days after receipt, wherever it waits."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = floor(var.queue_message_retention_seconds) == var.queue_message_retention_seconds && var.queue_message_retention_seconds >= 60 && var.queue_message_retention_seconds <= 1209600
    error_message = "queue_message_retention_seconds must be a whole number of seconds between 60 and 1209600 (14 days)."
  }
}

variable "replay_principal_arns" {
  description = "IAM roles or users (ARNs) allowed to send to the main queue besides API Gateway, and to read, delete and send on the dead-letter queue: whoever runs `webhookctl dlq replay` or `history requeue`. The main queue's policy denies sqs:SendMessage to every other principal, and both queues deny requests without TLS."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.replay_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+", a))])
    error_message = "replay_principal_arns entries must be IAM role or user ARNs (arn:aws:iam::ACCOUNT:role/NAME or :user/NAME); the condition matches aws:PrincipalArn, which is the role ARN for a role's sessions."
  }
}

variable "queue_max_receive_count" {
  description = "Deliveries of one message to the processor before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = floor(var.queue_max_receive_count) == var.queue_max_receive_count && var.queue_max_receive_count >= 1 && var.queue_max_receive_count <= 1000
    error_message = "queue_max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "queue_max_message_size" {
  description = "Largest message (body plus attributes) the queue accepts, in bytes; larger webhooks get 413. hashicorp/aws 6.x accepts up to 1048576."
  type        = number
  default     = 262144
  nullable    = false

  validation {
    condition     = floor(var.queue_max_message_size) == var.queue_max_message_size && var.queue_max_message_size >= 1024 && var.queue_max_message_size <= 1048576
    error_message = "queue_max_message_size must be a whole number of bytes between 1024 and 1048576."
  }
}

################################################################################
# Processor (Lambda)
################################################################################

variable "processor_runtime" {
  description = "Lambda Python runtime for the processor."
  type        = string
  default     = "python3.13"
  nullable    = false

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.processor_runtime)
    error_message = "processor_runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "processor_memory_size" {
  description = "Processor memory in MB (CPU scales with it)."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = floor(var.processor_memory_size) == var.processor_memory_size && var.processor_memory_size >= 128 && var.processor_memory_size <= 10240
    error_message = "processor_memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "processor_timeout" {
  description = "Processor timeout in seconds. The processor derives its SDK timeouts and its end-of-invocation safety margin from it; the module refuses a timeout too short for one SDK call with all its retries, or for the batch (see processor_batch_size)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = floor(var.processor_timeout) == var.processor_timeout && var.processor_timeout >= 3 && var.processor_timeout <= 900
    error_message = "processor_timeout must be a whole number of seconds between 3 and 900."
  }
}

variable "processor_batch_size" {
  description = "Most SQS messages handed to one processor invocation. The batch must fit in 80 % of processor_timeout even when one of its SDK calls takes all its retries: that call's worst case plus 0.1 s for every other record (a healthy record takes about 12 ms). Records an invocation cannot start in time are handed back, and each hand-back counts toward queue_max_receive_count; the module refuses a batch that does not fit and says what would."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = floor(var.processor_batch_size) == var.processor_batch_size && var.processor_batch_size >= 1 && var.processor_batch_size <= 10000
    error_message = "processor_batch_size must be a whole number between 1 and 10000."
  }
}

variable "processor_batching_window_seconds" {
  description = "How long the event source mapping waits to fill a batch. Required above 0 when processor_batch_size > 10."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = floor(var.processor_batching_window_seconds) == var.processor_batching_window_seconds && var.processor_batching_window_seconds >= 0 && var.processor_batching_window_seconds <= 300
    error_message = "processor_batching_window_seconds must be a whole number of seconds between 0 and 300."
  }
}

variable "processor_maximum_concurrency" {
  description = "Most concurrent processor invocations the SQS trigger starts (protects DynamoDB and account concurrency)."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = floor(var.processor_maximum_concurrency) == var.processor_maximum_concurrency && var.processor_maximum_concurrency >= 2 && var.processor_maximum_concurrency <= 1000
    error_message = "processor_maximum_concurrency must be a whole number between 2 and 1000."
  }
}

variable "processor_enabled" {
  description = "Whether the processor's SQS trigger (event source mapping) runs. False pauses processing while ingestion continues: API Gateway still queues and acknowledges every webhook, and the messages wait in the queue until it is true again. They wait under queue_message_retention_seconds (a message older than that is deleted, never moved to the dead-letter queue), so resume well within it; the queue-age alarm keeps firing while paused."
  type        = bool
  default     = true
  nullable    = false
}

variable "processor_log_level" {
  description = "Application log level of the processor."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR"], var.processor_log_level)
    error_message = "processor_log_level must be DEBUG, INFO, WARN or ERROR."
  }
}

variable "log_retention_days" {
  description = "Retention of the processor and access log groups."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

################################################################################
# History (DynamoDB)
################################################################################

variable "history_billing_mode" {
  description = "PAY_PER_REQUEST (on-demand) or PROVISIONED."
  type        = string
  default     = "PAY_PER_REQUEST"
  nullable    = false

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.history_billing_mode)
    error_message = "history_billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "history_provisioned_capacity" {
  description = "Read and write capacity when history_billing_mode is PROVISIONED (table and index)."
  type = object({
    read  = number
    write = number
  })
  default  = { read = 5, write = 5 }
  nullable = false

  validation {
    condition     = alltrue([for c in [var.history_provisioned_capacity.read, var.history_provisioned_capacity.write] : floor(c) == c && c >= 1])
    error_message = "history_provisioned_capacity read and write must each be a whole number of capacity units, 1 or more."
  }
}

variable "history_retention_days" {
  description = "Days a history row is kept (DynamoDB TTL). 0 keeps rows forever."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = floor(var.history_retention_days) == var.history_retention_days && var.history_retention_days >= 0
    error_message = "history_retention_days must be a whole number of days: 0 (forever) or more."
  }
}

variable "history_rejected_retention_days" {
  description = "Days a rejected row (bad or missing signature) is kept. Rejected rows keep the full body, so that `webhookctl history requeue` can recover real events rejected by a mistyped secret; they expire sooner than the rest because anyone can produce them. At most history_retention_days when that is above 0; 0 keeps them as long as every other row."
  type        = number
  default     = 14
  nullable    = false

  validation {
    condition     = floor(var.history_rejected_retention_days) == var.history_rejected_retention_days && var.history_rejected_retention_days >= 0
    error_message = "history_rejected_retention_days must be a whole number of days: 0 (as long as other rows) or more."
  }
}

variable "history_invalid_body_bytes" {
  description = "Bytes of the body kept on an invalid row (unparseable, missing source...), with the full body's size and SHA-256; longer bodies are cut and flagged body_truncated. Verified, rejected and conflict rows keep the body up to history_max_stored_body_bytes."
  type        = number
  default     = 4096
  nullable    = false

  validation {
    condition     = floor(var.history_invalid_body_bytes) == var.history_invalid_body_bytes && var.history_invalid_body_bytes >= 0 && var.history_invalid_body_bytes <= 380000
    error_message = "history_invalid_body_bytes must be a whole number of bytes between 0 and 380000."
  }
}

variable "history_deletion_protection" {
  description = "Protect the history table from deletion (on by default: it is the record of every webhook). Set false in ephemeral environments, apply, then destroy."
  type        = bool
  default     = true
  nullable    = false
}

variable "history_stream_enabled" {
  description = "Enable a DynamoDB stream (NEW_IMAGE) of the history table for downstream consumers. It carries every row change (new rows, duplicate counts, conflicts, superseded marks), and a Lambda consumer can receive a record more than once: filter on INSERT of processed rows and deduplicate on event_id."
  type        = bool
  default     = false
  nullable    = false
}

variable "history_max_stored_body_bytes" {
  description = "Largest body stored in a history row (a DynamoDB item holds at most 400 KB). A longer processed, conflict or rejected body goes to the payload store and the row points at it (body_ref); without the store (create_payload_store = false) it is kept truncated, with its size and SHA-256, and the module then refuses a queue_max_message_size above this."
  type        = number
  default     = 350000
  nullable    = false

  validation {
    condition     = floor(var.history_max_stored_body_bytes) == var.history_max_stored_body_bytes && var.history_max_stored_body_bytes >= 1024 && var.history_max_stored_body_bytes <= 380000
    error_message = "history_max_stored_body_bytes must be a whole number of bytes between 1024 and 380000 (room for the other attributes in a 400 KB item)."
  }
}

################################################################################
# Payload store (S3)
################################################################################

variable "create_payload_store" {
  description = "Create the payload store: an S3 bucket (<name>-payloads-<unique>, name cut to 27 characters and lower-cased) for processed, conflict and rejected bodies longer than history_max_stored_body_bytes, which the history row then points at (body_ref) instead of keeping them truncated. Private, TLS only, encrypted (kms_key_arn, else SSE-S3), objects expire with the history (the longer of history_retention_days and history_rejected_retention_days; never when rows are kept forever). False keeps today's truncation, and refuses a queue_max_message_size above history_max_stored_body_bytes."
  type        = bool
  default     = true
  nullable    = false
}

variable "payload_store_force_destroy" {
  description = "Let destroy delete the payload store with its objects. False (the default): destroying a bucket that holds bodies fails (BucketNotEmpty), so a destroy never loses an acknowledged body; empty it yourself first, or set this true for ephemeral environments."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# Alarms
################################################################################

variable "create_alarms" {
  description = "Create the CloudWatch alarms (DLQ depth, queue age, processor errors, throttles and duration near its timeout, API 5XX and 4XX rate, rejection ratio per verified source, silence per source with alert_after_silence_seconds). README \"Metrics, dashboard and alarms\" lists them with their runbook steps."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_sns_topic" {
  description = "Create the SNS topic the alarms notify. False: pass sns_topic_arn (or leave it unset for alarms without actions). Refused together with sns_topic_arn, which would be ignored."
  type        = bool
  default     = true
  nullable    = false
}

variable "sns_topic_arn" {
  description = "Existing SNS topic for alarm notifications; needs create_sns_topic = false (the module refuses it otherwise rather than ignore it)."
  type        = string
  default     = null

  validation {
    condition     = var.sns_topic_arn == null ? true : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.sns_topic_arn))
    error_message = "sns_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the module-created SNS topic. Needs create_alarms and create_sns_topic (the module refuses them otherwise rather than ignore them)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be email addresses."
  }
}

variable "alarm_oldest_message_age_seconds" {
  description = "Alarm when the oldest message on the main queue is older than this (the processor is falling behind)."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = floor(var.alarm_oldest_message_age_seconds) == var.alarm_oldest_message_age_seconds && var.alarm_oldest_message_age_seconds >= 1
    error_message = "alarm_oldest_message_age_seconds must be a whole number of seconds, 1 or more (SQS reports the age in whole seconds)."
  }
}

variable "alarm_rejected_percent" {
  description = "Alarm when more than this percentage of one verified source's deliveries in 5 minutes are rejected (bad or missing signature), counting at least 5 rejections: a mistyped or rotated secret rejects all of them."
  type        = number
  default     = 50
  nullable    = false

  validation {
    condition     = var.alarm_rejected_percent > 0 && var.alarm_rejected_percent < 100
    error_message = "alarm_rejected_percent must be above 0 and below 100."
  }
}

variable "alarm_api_4xx_percent" {
  description = "Alarm when more than this percentage of the API's requests in 5 minutes are answered 4XX (415, 413, 400, 403, 429...), counting at least 20 requests: a sender stuck on a refusal retries without end."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.alarm_api_4xx_percent > 0 && var.alarm_api_4xx_percent < 100
    error_message = "alarm_api_4xx_percent must be above 0 and below 100."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard (<name>-webhooks): ingress by source with API 4XX/5XX and latency, queue depth and age, the processor's outcomes by source and status, event age, errors, throttles, duration and concurrency, and each consumer's queue. Outputs dashboard_name and dashboard_url."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# Event topic and consumers
################################################################################

variable "create_event_topic" {
  description = "Create the event topic (<name>-events). The processor publishes each newly processed event to it once: the body is the envelope (docs/event-envelope.schema.json), and the String message attributes are source, event_type, event_id and scheme. Rejected, invalid and duplicate deliveries are never published. The topic is encrypted with kms_key_arn, or with the AWS managed SNS key. False turns publishing off, and the module then refuses consumers."
  type        = bool
  default     = true
  nullable    = false
}

variable "consumers" {
  description = <<-EOT
    Consumers of the event topic, keyed by consumer name. Each key becomes a modules/consumer named <name>-<key>,
    with its own queue, DLQ, subscription and two alarms.
    sources / event_types: what the consumer receives. [] (the default) means every source or every event type.
      event_types takes exact names or prefix patterns ending in ".*" (payment_intent.*).
    body_filter: top-level JSON body field -> accepted string values. This filters the message body.
    enabled = false pauses the consumer's function (its event source mapping). The events wait in its queue.
    function_name / function_role_name: the Lambda to trigger and the role that gets the queue policy.
      Without them, consume the queue yourself (outputs queue_url and consumer_policy_json).
    batch_size, batching_window_seconds, maximum_concurrency: the function's trigger.
    max_receive_count, visibility_timeout_seconds, message_retention_seconds: the consumer's queue.
    alarm_oldest_message_age_seconds: the consumer's backlog alarm.
    See modules/consumer/README.md.
  EOT
  type = map(object({
    sources                          = optional(list(string), [])
    event_types                      = optional(list(string), [])
    body_filter                      = optional(map(list(string)), {})
    enabled                          = optional(bool, true)
    batch_size                       = optional(number, 10)
    batching_window_seconds          = optional(number, 0)
    maximum_concurrency              = optional(number, 10)
    max_receive_count                = optional(number, 5)
    visibility_timeout_seconds       = optional(number, 180)
    message_retention_seconds        = optional(number, 1209600)
    function_name                    = optional(string)
    function_role_name               = optional(string)
    alarm_oldest_message_age_seconds = optional(number, 900)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k in keys(var.consumers) : can(regex("^[a-z0-9][a-z0-9_-]*$", k))])
    error_message = "Each consumers key is a consumer name: lower-case letters, digits, '-' or '_', starting with a letter or digit (it names the consumer's queues and alarms, <name>-<key>). Refused: ${join(", ", [for k in keys(var.consumers) : jsonencode(k) if !can(regex("^[a-z0-9][a-z0-9_-]*$", k))])}."
  }
  validation {
    condition = alltrue(flatten([for c in values(var.consumers) : [
      for p in c.event_types : can(regex("^[^*[:space:]]{1,256}$", p)) || can(regex("^[^*[:space:]]{1,254}\\.\\*$", p))
    ]]))
    error_message = "Each consumer's event_types entry must be an exact event type (payment_intent.succeeded) or a prefix pattern with a single trailing \".*\" (payment_intent.*). No other '*', no whitespace, no empty entry, at most 256 characters. Refused: ${join(", ", flatten([for k, c in var.consumers : [
      for p in c.event_types : "consumers[\"${k}\"] ${jsonencode(p)}" if !(can(regex("^[^*[:space:]]{1,256}$", p)) || can(regex("^[^*[:space:]]{1,254}\\.\\*$", p)))
    ]]))}."
  }
}
