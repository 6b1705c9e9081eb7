variable "name_prefix" {
  description = "Prefix of every name (ecobid-<workspace>)."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' EMF metrics (their METRICS_NAMESPACE)."
  type        = string

  validation {
    condition     = length(var.metrics_namespace) > 0 && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be non-empty and must not start with AWS/ (reserved for AWS services)."
  }
}

variable "worker_functions" {
  description = "Functions that run the worker metrics (MessagesProcessed, MessagesFailed*, MessagesDeadLettered, MessageDuration): dashboard title => Lambda function name."
  type        = map(string)
}

variable "lambda_functions" {
  description = "Every Lambda function, for the alarms AWS/Lambda measures itself (Errors, Throttles): a crash, a timeout or a throttled invocation writes no EMF line. Title => function name."
  type        = map(string)
}

variable "stream_function_name" {
  description = "The function of the table stream's event-source mapping (its IteratorAge alarms)."
  type        = string
}

variable "iterator_age_max_seconds" {
  description = "The stream mapping's IteratorAge alarm fires above this age of the newest record read (records expire from the stream after 24 h)."
  type        = number
  default     = 300

  validation {
    condition     = var.iterator_age_max_seconds >= 60 && var.iterator_age_max_seconds <= 43200
    error_message = "iterator_age_max_seconds must be 60 to 43200 (12 h: half the stream's retention)."
  }
}

variable "api_id" {
  description = "The HTTP API whose AWS/ApiGateway 5xx (which counts what the function never answered: timeouts, crashes) alarms."
  type        = string
}

variable "api_stage" {
  description = "The HTTP API's stage."
  type        = string
  default     = "$default"
}

variable "api_function_name" {
  description = "Name of the API Lambda (Requests, Status*xx, Latency)."
  type        = string
}

variable "table_name" {
  description = "DynamoDB table whose throttles alarm."
  type        = string
}

variable "dlq_names" {
  description = "Dead-letter queues shown on the dashboard (their depth alarms live with the queues)."
  type        = list(string)
}

variable "dlq_alarm_arns" {
  description = "The DLQ-depth alarms, shown on the dashboard's alarm status widget."
  type        = list(string)
}

variable "alarm_topic_arn" {
  description = "SNS topic every alarm notifies (the admin alerts topic)."
  type        = string
}

variable "worker_error_rate_percent" {
  description = "A worker alarms when more than this percentage of its messages fail (transiently or permanently) in a period."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_error_rate_percent > 0 && var.worker_error_rate_percent < 100
    error_message = "worker_error_rate_percent must be between 0 and 100 (exclusive)."
  }
}

variable "api_5xx_rate_percent" {
  description = "The API alarms when more than this percentage of its requests end in a 5xx in a period."
  type        = number
  default     = 0.5

  validation {
    condition     = var.api_5xx_rate_percent > 0 && var.api_5xx_rate_percent < 100
    error_message = "api_5xx_rate_percent must be between 0 and 100 (exclusive)."
  }
}

variable "period_seconds" {
  description = "Period over which each rate is computed (seconds, a multiple of 60)."
  type        = number
  default     = 300

  validation {
    condition     = var.period_seconds >= 60 && var.period_seconds % 60 == 0
    error_message = "period_seconds must be a multiple of 60, at least 60."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes them."
  type        = map(string)
  default     = {}
}
