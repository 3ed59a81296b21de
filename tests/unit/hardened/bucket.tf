# S3: public access blocked, KMS encryption, versioning, TLS-only policy, access logging, a
# lifecycle for noncurrent versions, object ownership enforced (no ACLs).
resource "aws_kms_key" "bucket" {
  for_each = var.environments

  description             = "${local.service}-${each.key} bucket objects"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersTheKey"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${var.aws_account_id}:root" }
      Action = [
        "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt",
        "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:EnableKey",
        "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListResourceTags",
        "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RevokeGrant",
        "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
      ]
      Resource = "*"
    }]
  })
}

resource "aws_s3_bucket" "bucket" {
  for_each = var.environments

  bucket        = "${local.service}-${each.key}-${var.aws_account_id}"
  force_destroy = false
}

resource "aws_s3_bucket_notification" "bucket" {
  for_each = var.environments

  bucket      = aws_s3_bucket.bucket[each.key].id
  eventbridge = true
}

resource "aws_s3_bucket_public_access_block" "bucket" {
  for_each = var.environments

  bucket                  = aws_s3_bucket.bucket[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "bucket" {
  for_each = var.environments

  bucket = aws_s3_bucket.bucket[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "bucket" {
  for_each = var.environments

  bucket = aws_s3_bucket.bucket[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.bucket[each.key].arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "bucket" {
  for_each = var.environments

  bucket = aws_s3_bucket.bucket[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "bucket" {
  for_each = var.environments

  bucket        = aws_s3_bucket.bucket[each.key].id
  target_bucket = var.access_log_bucket
  target_prefix = "${local.service}-${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "bucket" {
  for_each = var.environments

  bucket = aws_s3_bucket.bucket[each.key].id

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 90
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "bucket_tls_only" {
  for_each = var.environments

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.bucket[each.key].arn,
      "${aws_s3_bucket.bucket[each.key].arn}/*",
    ]

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

resource "aws_s3_bucket_policy" "bucket" {
  for_each = var.environments

  bucket = aws_s3_bucket.bucket[each.key].id
  policy = data.aws_iam_policy_document.bucket_tls_only[each.key].json
}
