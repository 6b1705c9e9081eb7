variable "name" {
  description = "Queue name; the DLQ is named \"<name>-dlq\". Carries the project and the workspace, e.g. ecobid-dev-images."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 characters of letters, digits, '-' or '_' (SQS allows 80 and the DLQ adds \"-dlq\")."
  }
}

variable "visibility_timeout_seconds" {
  description = "How long a received message stays hidden. Must be at least 6 x the consuming function's timeout (checked by the worker module)."
  type        = number
  default     = 180

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 0 and 43200 (12 h)."
  }
}

variable "max_receive_count" {
  description = "Receives after which SQS moves a message to the DLQ (the redrive policy's maxReceiveCount)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the queue keeps a message."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps a message: the time ops have to inspect and redrive it. Keep it longer than the source queue's retention, since SQS keeps a message's original enqueue time when it moves it."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "receive_wait_time_seconds" {
  description = "Long-poll wait of ReceiveMessage."
  type        = number
  default     = 20

  validation {
    condition     = var.receive_wait_time_seconds >= 0 && var.receive_wait_time_seconds <= 20
    error_message = "receive_wait_time_seconds must be between 0 and 20."
  }
}

variable "allowed_senders" {
  description = "AWS services allowed to send to the queue (e.g. s3.amazonaws.com, events.amazonaws.com), each restricted to the source ARNs (ArnLike patterns) given and, where set, to the account the source belongs to (source_account: needed where the source ARN names no account, as a bucket's does, so a bucket of the same name in another account cannot send). Empty: no queue policy."
  type = list(object({
    service        = string
    source_arns    = list(string)
    source_account = optional(string)
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.allowed_senders : endswith(s.service, ".amazonaws.com") && length(s.source_arns) > 0])
    error_message = "Each allowed sender needs a service principal ending in .amazonaws.com and at least one source ARN."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the DLQ-depth alarm notifies (the admin alerts topic)."
  type        = string
}

variable "alarm_evaluation_periods" {
  description = "Minutes the DLQ must hold messages before the alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_evaluation_periods >= 1
    error_message = "alarm_evaluation_periods must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
