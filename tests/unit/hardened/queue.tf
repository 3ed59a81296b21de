# SQS: a customer-managed KMS key, a dead-letter queue, a TLS-only policy.
resource "aws_kms_key" "queue" {
  for_each = var.environments

  description             = "${local.service}-${each.key} queue messages"
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

resource "aws_sqs_queue" "dead_letter" {
  for_each = var.environments

  name                      = "${local.service}-${each.key}-dlq"
  kms_master_key_id         = aws_kms_key.queue[each.key].arn
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "queue" {
  for_each = var.environments

  name                              = "${local.service}-${each.key}"
  kms_master_key_id                 = aws_kms_key.queue[each.key].arn
  kms_data_key_reuse_period_seconds = 300
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn
    maxReceiveCount     = 5
  })
}

data "aws_iam_policy_document" "queue_tls_only" {
  for_each = var.environments

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.queue[each.key].arn]

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

resource "aws_sqs_queue_policy" "queue" {
  for_each = var.environments

  queue_url = aws_sqs_queue.queue[each.key].id
  policy    = data.aws_iam_policy_document.queue_tls_only[each.key].json
}
