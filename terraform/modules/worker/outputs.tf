output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway uses to invoke the function."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "sqs_event_source_mapping_uuid" {
  description = "UUID of the SQS event-source mapping (null without an SQS source)."
  value       = try(aws_lambda_event_source_mapping.sqs[0].uuid, null)
}

output "stream_event_source_mapping_uuid" {
  description = "UUID of the DynamoDB stream event-source mapping (null without a stream source)."
  value       = try(aws_lambda_event_source_mapping.stream[0].uuid, null)
}
