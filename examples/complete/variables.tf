variable "name" {
  description = "Resource name prefix."
  type        = string
  default     = "webhooks-complete"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = { project = "webhook-ingest", example = "complete" }
}

variable "partner_cidrs" {
  description = "Sender CIDRs allowed for the partner source."
  type        = list(string)
  default     = ["192.0.2.0/24", "198.51.100.0/24"]
}

variable "alarm_emails" {
  description = "Addresses notified by the alarms."
  type        = list(string)
  default     = ["oncall@example.com"]
}

variable "replay_principal_arns" {
  description = "Roles or users that may replay into the main queue and work the DLQ (webhookctl)."
  type        = list(string)
  default     = []
}

variable "secret_recovery_window_days" {
  description = "Days a destroyed signing secret stays recoverable (0: deleted at once)."
  type        = number
  default     = 30
}

variable "queue_max_receive_count" {
  description = "Deliveries before a message goes to the DLQ."
  type        = number
  default     = 3
}

variable "payments_consumer_enabled" {
  description = "False pauses the payments consumer's function: its events wait in its queue until true again."
  type        = bool
  default     = true
}

variable "processor_enabled" {
  description = "False pauses the processor (its SQS trigger): webhooks are still accepted and wait in the queue, within its retention."
  type        = bool
  default     = true
  nullable    = false
}
