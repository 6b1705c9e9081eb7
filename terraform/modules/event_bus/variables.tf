variable "name_prefix" {
  description = "Prefix of every name, project and workspace: e.g. ecobid-dev."
  type        = string
}

variable "routes" {
  description = "One rule per routed event type (the key is the detail-type, e.g. ReservationCreated): its EventBridge source and the keys of the target queues it goes to."
  type = map(object({
    source  = string
    targets = list(string)
  }))

  validation {
    condition     = alltrue([for t, r in var.routes : can(regex("^ecobid\\.[a-z]+$", r.source)) && can(regex("^[A-Z][A-Za-z]+$", t)) && length(r.targets) > 0])
    error_message = "Each route needs a PascalCase event type, a source like ecobid.items and at least one target."
  }
}

variable "target_queues" {
  description = "Queues events are delivered to, by key (e.g. notifications = <queue ARN>)."
  type        = map(string)
}

variable "maximum_retry_attempts" {
  description = "Delivery retries of a target before the event goes to the bus DLQ."
  type        = number
  default     = 185

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185
    error_message = "maximum_retry_attempts must be between 0 and 185."
  }
}

variable "maximum_event_age_seconds" {
  description = "Age after which an undeliverable event goes to the bus DLQ."
  type        = number
  default     = 86400

  validation {
    condition     = var.maximum_event_age_seconds >= 60 && var.maximum_event_age_seconds <= 86400
    error_message = "maximum_event_age_seconds must be between 60 and 86400."
  }
}

variable "archive_retention_days" {
  description = "Days the archive keeps events for replay (0: forever)."
  type        = number
  default     = 30

  validation {
    condition     = var.archive_retention_days >= 0
    error_message = "archive_retention_days must be 0 or more."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the undeliverable-events alarm notifies."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
