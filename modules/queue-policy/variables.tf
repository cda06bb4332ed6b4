variable "queue_arn" {
  description = "ARN of the queue the policy is for: the Resource of every statement."
  type        = string
  nullable    = false
}

variable "statements" {
  description = "The queue's own statements (who may send), before the replay and TLS-only statements. effect defaults to Allow."
  type = list(object({
    sid        = string
    effect     = optional(string, "Allow")
    actions    = list(string)
    principals = object({ type = string, identifiers = list(string) })
    conditions = optional(list(object({ test = string, variable = string, values = list(string) })), [])
  }))
  default  = []
  nullable = false
}

variable "replay_principal_arns" {
  description = "Principals allowed to receive, delete, send, change visibility and read attributes (statement AllowReplay). Empty: no such statement."
  type        = list(string)
  default     = []
  nullable    = false
}
