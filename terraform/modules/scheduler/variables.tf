variable "name_prefix" {
  description = "Prefix of every name, project and workspace: e.g. ecobid-dev."
  type        = string
}

variable "target_queue_arns" {
  description = "Queues schedules may send to, by role (expiries, auction-closes): the only queues the Scheduler role can reach."
  type        = map(string)

  validation {
    condition     = length(var.target_queue_arns) > 0 && alltrue([for arn in values(var.target_queue_arns) : startswith(arn, "arn:")])
    error_message = "target_queue_arns must map at least one name to a queue ARN."
  }
}

variable "recurring" {
  description = "Recurring schedules by name: a cron() or rate() expression (UTC), the key of the target queue in target_queue_arns, and the message body delivered."
  type = map(object({
    expression = string
    target     = string
    input      = string
  }))
  default = {}

  validation {
    condition     = alltrue([for r in values(var.recurring) : can(regex("^(cron|rate)\\(.+\\)$", r.expression)) && can(jsondecode(r.input))])
    error_message = "Each recurring schedule needs a cron() or rate() expression and a JSON input."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
