data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  topics = {
    # Fan-out of push notifications to users (the worker publishes to each user's platform endpoints;
    # this topic carries what is not delivered per device, and is what tests subscribe to).
    push = "${var.name_prefix}-user-push"
    # Emails to users, filtered by subscribers on message attributes (recipient, type).
    email = "${var.name_prefix}-user-email"
    # Alarms and given-up messages: for humans on call.
    admin = "${var.name_prefix}-admin-alerts"
  }
}

resource "aws_sns_topic" "this" {
  for_each = local.topics

  name              = each.value
  kms_master_key_id = var.kms_master_key_id
  tags              = var.tags
}

# CloudWatch alarms publish to the admin topic.
data "aws_iam_policy_document" "admin" {
  statement {
    sid       = "AccountOwns"
    actions   = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:SetTopicAttributes"]
    resources = [aws_sns_topic.this["admin"].arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this["admin"].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "admin" {
  arn    = aws_sns_topic.this["admin"].arn
  policy = data.aws_iam_policy_document.admin.json
}

resource "aws_sns_topic_subscription" "admin_email" {
  for_each = toset(var.admin_alert_emails)

  topic_arn = aws_sns_topic.this["admin"].arn
  protocol  = "email"
  endpoint  = each.value
}
