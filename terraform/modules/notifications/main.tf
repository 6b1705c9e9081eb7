data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # From a Secrets Manager secret where one is named, else from the sensitive variable.
  push = var.push_credentials_secret_id == null ? var.push_credentials : jsondecode(data.aws_secretsmanager_secret_version.push[0].secret_string)
  apns = try(local.push.apns, null)
  fcm  = try(local.push.fcm, null)
  # The address part of "Name <address>", for the email identity.
  from_address = trimspace(try(regex("<([^>]+)>", var.email_from)[0], var.email_from))
  from_domain  = split("@", local.from_address)[1]
}

data "aws_secretsmanager_secret_version" "push" {
  count     = var.push_credentials_secret_id == null ? 0 : 1
  secret_id = var.push_credentials_secret_id
}

#### Push: one SNS platform application per platform with credentials ####################

# APNs with token-based authentication (a .p8 signing key): no certificate to renew each year.
resource "aws_sns_platform_application" "apns" {
  # Whether a platform is on is not secret; its credentials are.
  count = nonsensitive(local.apns != null) ? 1 : 0

  name                     = "${var.name_prefix}-ios"
  platform                 = try(local.apns.sandbox, false) ? "APNS_SANDBOX" : "APNS"
  platform_credential      = local.apns.signing_key
  platform_principal       = local.apns.signing_key_id
  apple_platform_team_id   = local.apns.team_id
  apple_platform_bundle_id = local.apns.bundle_id
}

# FCM through the HTTP v1 API: the credential is the Firebase service account's JSON key.
resource "aws_sns_platform_application" "fcm" {
  count = nonsensitive(local.fcm != null) ? 1 : 0

  name                = "${var.name_prefix}-android"
  platform            = "GCM"
  platform_credential = local.fcm.service_account_json
}

#### Email: the sender identity and a configuration set that suppresses bad addresses #####

# The sending domain (DKIM-signed: publish the three CNAMEs of the output `email_dkim_tokens`), or the one
# address on the local stack and in the SES sandbox.
resource "aws_sesv2_email_identity" "sender" {
  email_identity = var.email_verify_domain ? local.from_domain : local.from_address
  tags           = var.tags
}

# Addresses that bounce or complain land on the suppression list and are not mailed again (SES drops a send
# to them and reports it), so the worker needs no bounce handler of its own.
resource "aws_sesv2_configuration_set" "this" {
  configuration_set_name = "${var.name_prefix}-notices"

  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  tags = var.tags
}

#### Admin alerts: a topic whose key CloudWatch alarms may use ##############################

# A customer-managed key: the AWS-managed alias/aws/sns key's policy cannot be changed, so a CloudWatch alarm
# could never publish to a topic encrypted with it.
data "aws_iam_policy_document" "alerts_key" {
  #checkov:skip=CKV_AWS_109:A key policy: "*" is this key, and the account-root statement is KMS's default policy, without which the key could never be managed again
  #checkov:skip=CKV_AWS_111:As CKV_AWS_109: in a key policy the resource is the key itself
  #checkov:skip=CKV_AWS_356:As CKV_AWS_109: a key policy's only resource is "*", the key it is attached to
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AwsServicesPublishToTheAlertsTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = var.alert_publishing_services
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alerts" {
  description             = "Encrypts ${var.name_prefix}'s admin alerts topic; CloudWatch alarms may use it to publish."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alerts_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "alerts" {
  name          = "alias/${var.name_prefix}-alerts"
  target_key_id = aws_kms_key.alerts.key_id
}

resource "aws_sns_topic" "admin" {
  name              = "${var.name_prefix}-admin-alerts"
  kms_master_key_id = aws_kms_key.alerts.arn
  tags              = var.tags
}

# CloudWatch alarms publish to the admin topic.
data "aws_iam_policy_document" "admin" {
  statement {
    sid       = "AccountOwns"
    actions   = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:SetTopicAttributes"]
    resources = [aws_sns_topic.admin.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AwsServicesPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.admin.arn]
    principals {
      type        = "Service"
      identifiers = var.alert_publishing_services
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "admin" {
  arn    = aws_sns_topic.admin.arn
  policy = data.aws_iam_policy_document.admin.json
}

resource "aws_sns_topic_subscription" "admin_email" {
  for_each = toset(var.admin_alert_emails)

  topic_arn = aws_sns_topic.admin.arn
  protocol  = "email"
  endpoint  = each.value
}
