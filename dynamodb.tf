resource "aws_dynamodb_table" "this" {
  count = local.create ? 1 : 0

  name         = "${var.name}-history"
  billing_mode = var.history_billing_mode
  # One row per event: a duplicate delivery derives the same event_id, so the
  # processor's conditional write collides instead of adding a second row.
  hash_key = "event_id"

  read_capacity  = var.history_billing_mode == "PROVISIONED" ? var.history_provisioned_capacity.read : null
  write_capacity = var.history_billing_mode == "PROVISIONED" ? var.history_provisioned_capacity.write : null

  attribute {
    name = "event_id"
    type = "S"
  }
  attribute {
    name = "source"
    type = "S"
  }
  attribute {
    name = "received_at"
    type = "N"
  }
  # "YYYY-MM-DD#n": the UTC day of received_at and one of 10 buckets from the event id,
  # on every row the processor writes (docs/message-contract.md). One key of a GSI takes
  # about 1,000 writes a second; ten per day keep the day's writes off a single key.
  attribute {
    name = "received_bucket"
    type = "S"
  }

  # Both indexes project what listing and replay select on; replay then reads the full
  # rows (BatchGetItem). by_source: events of one source by receive time (history list,
  # requeue --source). by_received: every source's events by receive time, ten keys per
  # UTC day, so `history replay --since/--until` is ten queries a day, not a scan. Rows
  # written before received_bucket existed are in by_source only.
  dynamic "global_secondary_index" {
    for_each = {
      by_source   = { hash_key = "source", projected = [] }
      by_received = { hash_key = "received_bucket", projected = ["source"] }
    }
    content {
      name               = global_secondary_index.key
      hash_key           = global_secondary_index.value.hash_key
      range_key          = "received_at"
      projection_type    = "INCLUDE"
      non_key_attributes = concat(global_secondary_index.value.projected, ["status", "event_type", "request_id", "reason"])
      read_capacity      = var.history_billing_mode == "PROVISIONED" ? var.history_provisioned_capacity.read : null
      write_capacity     = var.history_billing_mode == "PROVISIONED" ? var.history_provisioned_capacity.write : null
    }
  }

  # Rejected rows expire after history_rejected_retention_days even when the other
  # rows are kept forever, so TTL is on whenever either is set.
  dynamic "ttl" {
    for_each = var.history_retention_days > 0 || var.history_rejected_retention_days > 0 ? [1] : []
    content {
      attribute_name = "expires_at"
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.history_deletion_protection
  stream_enabled              = var.history_stream_enabled
  stream_view_type            = var.history_stream_enabled ? "NEW_IMAGE" : null

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.history_retention_days == 0 || var.history_rejected_retention_days <= var.history_retention_days
      error_message = "history_rejected_retention_days (${var.history_rejected_retention_days}) must not exceed history_retention_days (${var.history_retention_days}): rejected rows are the ones kept for less time. Set history_rejected_retention_days to at most ${var.history_retention_days}."
    }
  }
}
