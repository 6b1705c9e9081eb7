output "push_topic_arn" {
  description = "ARN of the user push topic."
  value       = aws_sns_topic.this["push"].arn
}

output "email_topic_arn" {
  description = "ARN of the user email topic."
  value       = aws_sns_topic.this["email"].arn
}

output "admin_topic_arn" {
  description = "ARN of the admin alerts topic (alarms notify it)."
  value       = aws_sns_topic.this["admin"].arn
}
