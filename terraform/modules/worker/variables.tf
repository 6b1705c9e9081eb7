variable "name" {
  description = "Function name; carries the project and the workspace, e.g. ecobid-dev-images-worker."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of letters, digits, '-' or '_'."
  }
}

variable "description" {
  description = "What the function does (shown in the Lambda console)."
  type        = string
  default     = ""
}

variable "artifact_path" {
  description = "Path of the deployment zip holding the `bootstrap` executable for provided.al2023 (built by scripts/package)."
  type        = string

  validation {
    condition     = endswith(var.artifact_path, ".zip")
    error_message = "artifact_path must be a .zip file."
  }
}

variable "architecture" {
  description = "Instruction set the bootstrap was built for."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "memory_mb" {
  description = "Memory of the function in MB (CPU scales with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Function timeout. With an SQS source, the queue's visibility timeout must be at least 6 x this."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions; -1 leaves the function unreserved."
  type        = number
  default     = -1
}

variable "environment" {
  description = "Environment variables of the function (names UPPER_SNAKE, read by Config::from_env). No secrets."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "environment variable names must be UPPER_SNAKE_CASE."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's EMF metrics, given to it as METRICS_NAMESPACE."
  type        = string
  default     = "EcoBid"

  validation {
    condition     = length(var.metrics_namespace) > 0 && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be non-empty and must not start with AWS/ (reserved for AWS services)."
  }
}

variable "log_aws_requests" {
  description = "The function logs one JSON line per AWS request it makes (LOG_AWS_REQUESTS)."
  type        = bool
  default     = false
}

variable "log_level" {
  description = "Application log level (AWS_LAMBDA_LOG_LEVEL, honoured by the Rust runtime's tracing subscriber)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "policy_statements" {
  description = "What the function may do besides logging, tracing and consuming its source: least privilege, named actions on known ARNs."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid))])
    error_message = "Each statement's sid must be alphanumeric."
  }

  validation {
    condition     = alltrue(flatten([for s in var.policy_statements : [for a in s.actions : !endswith(a, ":*") && a != "*"]]))
    error_message = "Wildcard actions (\"*\" or \"service:*\") are not allowed: name the actions the function needs."
  }
}

variable "sqs_source" {
  description = "SQS queue that feeds the function through an event-source mapping with partial batch failures (null: none)."
  type = object({
    queue_arn                = string
    queue_visibility_timeout = number
    dlq_arn                  = string
    batch_size               = optional(number, 10)
    batching_window_seconds  = optional(number, 0)
    maximum_concurrency      = optional(number, 2)
    enabled                  = optional(bool, true)
  })
  default = null

  validation {
    condition     = var.sqs_source == null || (try(var.sqs_source.batch_size, 0) >= 1 && try(var.sqs_source.batch_size, 0) <= 10000)
    error_message = "sqs_source.batch_size must be between 1 and 10000."
  }

  validation {
    condition     = var.sqs_source == null || (try(var.sqs_source.batching_window_seconds, -1) >= 0 && try(var.sqs_source.batching_window_seconds, -1) <= 300)
    error_message = "sqs_source.batching_window_seconds must be between 0 and 300."
  }

  validation {
    condition     = var.sqs_source == null || (try(var.sqs_source.maximum_concurrency, 0) >= 2 && try(var.sqs_source.maximum_concurrency, 0) <= 1000)
    error_message = "sqs_source.maximum_concurrency must be between 2 and 1000 (the SQS event-source mapping's limits)."
  }

  validation {
    condition     = var.sqs_source == null || try(var.sqs_source.batch_size, 0) <= 10 || try(var.sqs_source.batching_window_seconds, 0) >= 1
    error_message = "sqs_source.batch_size above 10 needs batching_window_seconds of at least 1."
  }
}

variable "stream_source" {
  description = "DynamoDB stream that feeds the function (null: none). Failures are reported per record; a failing invocation's batch is split in two; a batch still failing after maximum_retry_attempts retries (-1: until its records expire after 24 h) is sent to the on_failure_queue_arn SQS queue (where its records are in the stream), and the shard moves on."
  type = object({
    stream_arn              = string
    batch_size              = optional(number, 100)
    batching_window_seconds = optional(number, 0)
    starting_position       = optional(string, "TRIM_HORIZON")
    enabled                 = optional(bool, true)
    maximum_retry_attempts  = optional(number, -1)
    on_failure_queue_arn    = optional(string)
  })
  default = null

  validation {
    condition     = var.stream_source == null || contains(["TRIM_HORIZON", "LATEST"], try(var.stream_source.starting_position, ""))
    error_message = "stream_source.starting_position must be TRIM_HORIZON or LATEST."
  }

  validation {
    condition     = var.stream_source == null || (try(var.stream_source.batch_size, 0) >= 1 && try(var.stream_source.batch_size, 0) <= 10000)
    error_message = "stream_source.batch_size must be between 1 and 10000."
  }

  validation {
    condition     = var.stream_source == null || (try(var.stream_source.maximum_retry_attempts, 0) >= -1 && try(var.stream_source.maximum_retry_attempts, 0) <= 10000 && floor(try(var.stream_source.maximum_retry_attempts, 0)) == try(var.stream_source.maximum_retry_attempts, 0))
    error_message = "stream_source.maximum_retry_attempts must be a whole number from -1 (until the records expire) to 10000."
  }

  validation {
    condition     = try(var.stream_source.on_failure_queue_arn, null) == null || can(regex("^arn:aws[a-z-]*:sqs:", var.stream_source.on_failure_queue_arn))
    error_message = "stream_source.on_failure_queue_arn must be an SQS queue ARN."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
