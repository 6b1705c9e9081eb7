output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarm_arns" {
  description = "ARNs of the alarms this module made: each worker's error rate, the API's 5xx rate and the table's throttles."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.worker_error_rate : a.arn],
    [aws_cloudwatch_metric_alarm.api_5xx_rate.arn, aws_cloudwatch_metric_alarm.table_throttles.arn],
  )
}
