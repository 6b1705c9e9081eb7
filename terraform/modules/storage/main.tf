#### Table: the single table of DOMAIN.md ########################################

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned key; a customer-managed key costs $1/month plus requests and makes the table unreadable if the key is disabled, for data (listings, profiles) that holds no payment or health data
  name         = "${var.name_prefix}-table"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "PK"
  range_key    = "SK"

  attribute {
    name = "PK"
    type = "S"
  }
  attribute {
    name = "SK"
    type = "S"
  }
  attribute {
    name = "GSI1PK"
    type = "S"
  }
  attribute {
    name = "GSI1SK"
    type = "S"
  }
  attribute {
    name = "GSI2PK"
    type = "S"
  }
  attribute {
    name = "GSI2SK"
    type = "S"
  }
  attribute {
    name = "GSI3PK"
    type = "S"
  }
  attribute {
    name = "GSI3SK"
    type = "S"
  }
  attribute {
    name = "GSI4PK"
    type = "S"
  }
  attribute {
    name = "GSI4SK"
    type = "S"
  }

  # GSI1: location (geohash prefix, createdAt).
  global_secondary_index {
    name            = "GSI1"
    hash_key        = "GSI1PK"
    range_key       = "GSI1SK"
    projection_type = "ALL"
  }

  # GSI2: category (category, createdAt).
  global_secondary_index {
    name            = "GSI2"
    hash_key        = "GSI2PK"
    range_key       = "GSI2SK"
    projection_type = "ALL"
  }

  # GSI3: a user's own lists (items, reservations made, auctions, bids, ratings received), by status and time.
  global_secondary_index {
    name            = "GSI3"
    hash_key        = "GSI3PK"
    range_key       = "GSI3SK"
    projection_type = "ALL"
  }

  # GSI4: the reservations made on a seller's items (a reservation is in GSI3 as its buyer's).
  global_secondary_index {
    name            = "GSI4"
    hash_key        = "GSI4PK"
    range_key       = "GSI4SK"
    projection_type = "ALL"
  }

  # The outbox: the stream publisher turns these records into domain events.
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  # Idempotency records and notification de-duplication keys expire.
  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection

  tags = var.tags
}

#### Search index: terms to listings (domain::search), derived from the listings alone #######

resource "aws_dynamodb_table" "search" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned key, as the table it is derived from (listing titles and places, no personal data)
  name         = "${var.name_prefix}-search"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "PK"
  range_key    = "SK"

  attribute {
    name = "PK"
    type = "S"
  }
  attribute {
    name = "SK"
    type = "S"
  }

  # No stream: its writes are not events. Replaying the item events rebuilds it, but recovery to a point in
  # time follows the table's own setting, so both come back to the same moment.
  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection

  tags = var.tags
}

#### Buckets: private, encrypted, TLS only ######################################

resource "aws_s3_bucket" "this" {
  for_each = var.bucket_names

  #checkov:skip=CKV_AWS_144:One region: thumbnails are derived from the originals, originals are kept only until processed (lifecycle); replication would double storage and requests for a marketplace with no cross-region recovery objective
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts every object; SSE-KMS would add a KMS request per upload and per CDN miss and a key policy for CloudFront's Origin Access Control
  #checkov:skip=CKV_AWS_18:Server access logs need a third bucket; uploads are made through presigned URLs the API issues (and logs with the caller), reads go through the CDN
  #checkov:skip=CKV2_AWS_6:Each bucket has its aws_s3_bucket_public_access_block.this (for_each over the same map, all four settings true); checkov links it to one key of the map only
  #checkov:skip=CKV_AWS_21:Uploads are versioned (aws_s3_bucket_versioning.uploads: a second PUT to a photo's presigned URL cannot replace the moderated original unseen); thumbnails are written only by the images worker and derived again from the original
  #checkov:skip=CKV2_AWS_62:The uploads bucket notifies the images queue; the thumbnails bucket is written only by the images worker and nothing reacts to its writes
  bucket        = each.value
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

locals {
  # The thumbnails bucket is read by the CDN's distributions (Origin Access Control), nobody else.
  readers = { thumbnails = var.thumbnails_readers, uploads = [] }
  # A bucket has a policy when it denies plain HTTP, or grants a distribution its reads.
  policies = { for k, b in aws_s3_bucket.this : k => b if var.enforce_tls || length(local.readers[k]) > 0 }
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.policies

  dynamic "statement" {
    for_each = var.enforce_tls ? [1] : []
    content {
      sid       = "DenyInsecureTransport"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [each.value.arn, "${each.value.arn}/*"]
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

  dynamic "statement" {
    for_each = length(local.readers[each.key]) > 0 ? [1] : []
    content {
      sid       = "CloudFrontReadsThroughOriginAccessControl"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${each.value.arn}/*"]
      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = local.readers[each.key]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.policies

  bucket     = each.value.id
  policy     = data.aws_iam_policy_document.bucket[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# An upload is a presigned PUT the client may repeat while the URL lives: versions keep the original the
# images worker moderated, and expire with it.
resource "aws_s3_bucket_versioning" "uploads" {
  bucket = aws_s3_bucket.this["uploads"].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "uploads" {
  bucket     = aws_s3_bucket.this["uploads"].id
  depends_on = [aws_s3_bucket_versioning.uploads]

  rule {
    id     = "expire-originals"
    status = "Enabled"
    filter {
      prefix = var.uploads_prefix
    }
    expiration {
      days = var.upload_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.upload_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "thumbnails" {
  bucket = aws_s3_bucket.this["thumbnails"].id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

#### Uploads → images queue #####################################################

resource "aws_s3_bucket_notification" "uploads" {
  bucket = aws_s3_bucket.this["uploads"].id

  queue {
    id            = "uploads-to-images-queue"
    queue_arn     = var.images_queue_arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.uploads_prefix
  }
}
