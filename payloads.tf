################################################################################
# Payload store (issue 14): a module-owned bucket for the bodies a history row
# cannot hold. The processor writes a verified, conflict or rejected body longer
# than history_max_stored_body_bytes to bodies/<source>/<sha256> before the row,
# and the row keeps a body_ref to it (docs/message-contract.md).
################################################################################

locals {
  create_payload_store = local.create && var.create_payload_store

  # S3 allows a bucket_prefix of 37 characters (the provider adds 26 unique ones); bucket
  # names are lower case. name has up to 40 characters, so at most 27 of them are kept.
  payload_bucket_prefix = "${substr(lower(var.name), 0, 27)}-payloads-"

  # No object may expire before a row that points at it: the longest row retention, and
  # 0 (rows kept forever) keeps the objects forever too. With history_retention_days > 0
  # the rejected retention is at most as long (dynamodb.tf), so this is that retention;
  # max() keeps the rule right should that precondition ever change.
  # With s3 sources, an object is also the only copy of a body whose message is still queued
  # or in the DLQ (14 days, from the message's first enqueue): it outlives both.
  payload_expiration_days = var.history_retention_days == 0 ? null : max(
    var.history_retention_days,
    var.history_rejected_retention_days,
    local.create_payload_api ? 14 : 0,
  )

  # Where the processor may read and write: the content-addressed bodies, nothing else.
  payload_bodies_arn = local.create_payload_store ? "${aws_s3_bucket.payloads[0].arn}/bodies/*" : null
}

resource "aws_s3_bucket" "payloads" {
  count = local.create_payload_store ? 1 : 0

  bucket_prefix = local.payload_bucket_prefix
  # false: a destroy of a bucket that still holds bodies fails (BucketNotEmpty), so no
  # acknowledged body is lost by a destroy. true (examples, tests) empties it first.
  force_destroy = var.payload_store_force_destroy

  tags = var.tags

  # checkov:skip=CKV_AWS_18:Server access logs need a second bucket the module would own; only the processor's role reads or writes bodies (IAM), and CloudTrail data events cover object access where an account needs an audit trail.
  # checkov:skip=CKV_AWS_21:Versioning is off on purpose: objects are content-addressed (key = the body's SHA-256) and never change, so a rewrite stores identical bytes and no version is worth keeping.
  # checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice of the account, not of this module; the row keeps size and SHA-256 of every body.
  # checkov:skip=CKV_AWS_145:Encrypted with kms_key_arn when it is set (SSE-KMS); otherwise with SSE-S3 (AES256), which needs no key policy, like the rest of the module's AWS managed encryption.
  # checkov:skip=CKV2_AWS_62:With s3 sources the bucket notifies the main queue of ingest/ objects (aws_s3_bucket_notification.payloads); without them nothing consumes its events, since the processor writes the object and records the row in one step.
}

resource "aws_s3_bucket_public_access_block" "payloads" {
  count = local.create_payload_store ? 1 : 0

  bucket                  = aws_s3_bucket.payloads[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: every object belongs to the bucket owner, whoever wrote it.
resource "aws_s3_bucket_ownership_controls" "payloads" {
  count = local.create_payload_store ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }

  # S3 may refuse concurrent changes to a bucket's access settings (OperationAborted): the
  # public access block, the policy, then ownership (terraform-aws-modules/s3-bucket's order).
  depends_on = [aws_s3_bucket_public_access_block.payloads, aws_s3_bucket_policy.payloads]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "payloads" {
  count = local.create_payload_store ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  rule {
    # Without kms_key_arn: SSE-S3 (AES256), which needs no key policy and no kms:*
    # permission (an AWS managed aws/s3 key would, for every reader). With it: the
    # customer key, and an S3 Bucket Key so S3 calls KMS once per bucket key, not per object.
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn == null ? null : true
  }
}

# Disabled, not Suspended: the bucket is created unversioned and stays so (the provider
# makes no call for Disabled). Objects are immutable and content-addressed, so the same key
# always holds the same bytes: no version is ever worth keeping.
resource "aws_s3_bucket_versioning" "payloads" {
  count = local.create_payload_store ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  versioning_configuration {
    status = "Disabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "payloads" {
  count = local.create_payload_store ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id

  # One rule for the whole bucket. Every object expires with the longest-lived row that can
  # point at it (local.payload_expiration_days), never when rows are kept forever. And a
  # PutObject is one request, but a client of the bucket could start a multipart upload and
  # never finish it: its parts would be billed and invisible, so they go after a day.
  rule {
    id     = "bodies"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
    dynamic "expiration" {
      for_each = local.payload_expiration_days == null ? [] : [local.payload_expiration_days]
      content {
        days = expiration.value
      }
    }
  }
}

# TLS only. A Deny on s3:* for requests without TLS is the standard pattern (AWS, "Security
# best practices for Amazon S3"): it grants nothing, it only takes away, so the "no *
# action" rule of the module's own IAM (which grants) does not apply to it.
data "aws_iam_policy_document" "payloads" {
  count = local.create_payload_store ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.payloads[0].arn, "${aws_s3_bucket.payloads[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "payloads" {
  count = local.create_payload_store ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  policy = data.aws_iam_policy_document.payloads[0].json

  # After the public access block, which S3 checks a new policy against (and which may
  # refuse a concurrent change, OperationAborted).
  depends_on = [aws_s3_bucket_public_access_block.payloads]
}

# The message of an s3 source's webhook: S3's ObjectCreated notification of ingest/<source>/<request
# id>, on the main queue, where the processor reads the object it names (payload_api.tf).
resource "aws_s3_bucket_notification" "payloads" {
  count = local.create_payload_api ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  queue {
    id            = "ingest"
    queue_arn     = aws_sqs_queue.this[0].arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "ingest/"
  }

  # S3 checks, when the configuration is put, that the queue's policy lets it send.
  depends_on = [aws_sqs_queue_policy.this]
}
