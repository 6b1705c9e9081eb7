output "schedule_group_name" {
  description = "Name of the schedule group one-time schedules are created in."
  value       = aws_scheduler_schedule_group.this.name
}

output "schedule_group_arn" {
  description = "ARN of the schedule group."
  value       = aws_scheduler_schedule_group.this.arn
}

output "role_arn" {
  description = "ARN of the role schedules use to send to their target queue (workers pass it with iam:PassRole)."
  value       = aws_iam_role.this.arn
}
