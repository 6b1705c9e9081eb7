output "admin_topic_arn" {
  description = "ARN of the admin alerts topic (alarms notify it)."
  value       = aws_sns_topic.admin.arn
}

output "admin_topic_key_arn" {
  description = "ARN of the customer-managed KMS key encrypting the admin alerts topic."
  value       = aws_kms_key.alerts.arn
}

output "push_application_arns" {
  description = "SNS platform application per platform with credentials (ios, android); a platform without credentials is absent."
  value = merge(
    { for a in aws_sns_platform_application.apns : "ios" => a.arn },
    { for a in aws_sns_platform_application.fcm : "android" => a.arn },
  )
}

output "email_from" {
  description = "The sender of users' email notices."
  value       = var.email_from
}

output "email_identity_arn" {
  description = "ARN of the SES sender identity."
  value       = aws_sesv2_email_identity.sender.arn
}

output "email_configuration_set" {
  description = "Name of the SES configuration set every notice is sent in."
  value       = aws_sesv2_configuration_set.this.configuration_set_name
}

output "email_configuration_set_arn" {
  description = "ARN of the SES configuration set."
  value       = aws_sesv2_configuration_set.this.arn
}

output "email_dkim_tokens" {
  description = "DKIM tokens of the sender domain: publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com."
  value       = try(aws_sesv2_email_identity.sender.dkim_signing_attributes[0].tokens, [])
}
