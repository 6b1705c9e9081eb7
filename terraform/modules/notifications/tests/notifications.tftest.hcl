# Offline: the provider is mocked, so these check which platforms are on, the email identity and suppression,
# and that the alerts topic's key lets CloudWatch publish.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:ecobid-test-admin-alerts" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/k1", key_id = "k1" }
  }
  mock_resource "aws_sesv2_email_identity" {
    defaults = { arn = "arn:aws:ses:eu-west-1:123456789012:identity/test.ecobid.example" }
  }
}

variables {
  name_prefix = "ecobid-test"
  email_from  = "EcoBid <no-reply@test.ecobid.example>"
}

run "no_credentials_no_platform_and_the_domain_is_the_identity" {
  # Applied against the mock: the key's ARN is known, so the topic can be seen to use it.
  command = apply

  assert {
    condition     = length(aws_sns_platform_application.apns) == 0 && length(aws_sns_platform_application.fcm) == 0
    error_message = "Without credentials, no platform application (push is off)."
  }
  assert {
    condition     = aws_sesv2_email_identity.sender.email_identity == "test.ecobid.example"
    error_message = "The sender's domain is the identity (DKIM) by default."
  }
  assert {
    condition     = toset(aws_sesv2_configuration_set.this.suppression_options[0].suppressed_reasons) == toset(["BOUNCE", "COMPLAINT"])
    error_message = "Bounced and complaining addresses are suppressed."
  }
  assert {
    condition     = aws_kms_key.alerts.enable_key_rotation && aws_sns_topic.admin.kms_master_key_id == aws_kms_key.alerts.arn
    error_message = "The admin topic is encrypted with its own rotated customer-managed key."
  }
}

run "credentials_turn_each_platform_on" {
  command = plan

  variables {
    email_verify_domain = false
    push_credentials = {
      apns = { signing_key = "k", signing_key_id = "KEY1234567", team_id = "TEAM123456", bundle_id = "app.ecobid", sandbox = true }
      fcm  = { service_account_json = "{}" }
    }
  }

  assert {
    condition     = aws_sns_platform_application.apns[0].platform == "APNS_SANDBOX" && aws_sns_platform_application.fcm[0].platform == "GCM"
    error_message = "APNs (sandbox for development builds) and FCM applications are made from their credentials."
  }
  assert {
    condition     = aws_sesv2_email_identity.sender.email_identity == "no-reply@test.ecobid.example"
    error_message = "Without domain verification, the one address is the identity."
  }
}

run "a_bad_team_id_or_sender_is_refused" {
  command = plan

  variables {
    email_from = "not an address"
    push_credentials = {
      apns = { signing_key = "k", signing_key_id = "KEY1234567", team_id = "short", bundle_id = "app.ecobid" }
    }
  }

  expect_failures = [var.email_from, var.push_credentials]
}
