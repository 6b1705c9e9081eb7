output "queue_name" {
  description = "Name of the queue."
  value       = aws_sqs_queue.this.name
}

output "queue_arn" {
  description = "ARN of the queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_url" {
  description = "URL of the queue."
  value       = aws_sqs_queue.this.id
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the queue (the worker module checks it against the function timeout)."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "max_receive_count" {
  description = "Receives before SQS moves a message to the DLQ."
  value       = var.max_receive_count
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_alarm_arn" {
  description = "ARN of the DLQ-depth alarm."
  value       = aws_cloudwatch_metric_alarm.dlq_depth.arn
}
