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

  # Events by source and receive time: what replay and inspection tooling lists.
  global_secondary_index {
    name               = "by_source"
    hash_key           = "source"
    range_key          = "received_at"
    projection_type    = "INCLUDE"
    non_key_attributes = ["status", "event_type", "request_id", "reason"]
    read_capacity      = var.history_billing_mode == "PROVISIONED" ? var.history_provisioned_capacity.read : null
    write_capacity     = var.history_billing_mode == "PROVISIONED" ? var.history_provisioned_capacity.write : null
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
