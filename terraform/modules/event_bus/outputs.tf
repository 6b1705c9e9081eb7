output "bus_name" {
  description = "Name of the custom event bus."
  value       = aws_cloudwatch_event_bus.this.name
}

output "bus_arn" {
  description = "ARN of the custom event bus (the stream publisher's PutEvents target)."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "rule_arn_pattern" {
  description = "ArnLike pattern matching every rule of the bus (for queue policies)."
  value       = "${replace(aws_cloudwatch_event_bus.this.arn, ":event-bus/", ":rule/")}/*"
}

output "archive_name" {
  description = "Name of the archive events are replayed from."
  value       = aws_cloudwatch_event_archive.this.name
}

output "rule_names" {
  description = "Rule name by event type."
  value       = { for t, r in aws_cloudwatch_event_rule.this : t => r.name }
}

output "dlq_url" {
  description = "URL of the queue undeliverable events go to."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the queue undeliverable events go to."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue of the bus's targets."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_alarm_arn" {
  description = "ARN of the alarm on the bus DLQ's depth."
  value       = aws_cloudwatch_metric_alarm.dlq_depth["events"].arn
}

output "outbox_dlq_arn" {
  description = "ARN of the queue the stream publisher's mapping sends the batches it gives up on to (its on-failure destination)."
  value       = aws_sqs_queue.outbox_dlq.arn
}

output "outbox_dlq_name" {
  description = "Name of the stream publisher's on-failure destination."
  value       = aws_sqs_queue.outbox_dlq.name
}

output "outbox_dlq_alarm_arn" {
  description = "ARN of the alarm on the stream publisher's on-failure destination holding anything."
  value       = aws_cloudwatch_metric_alarm.dlq_depth["outbox"].arn
}

output "outbox_dlq_url" {
  description = "URL of the outbox DLQ: the stream publisher sends the records that can never be published there itself."
  value       = aws_sqs_queue.outbox_dlq.id
}
