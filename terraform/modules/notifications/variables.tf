variable "name_prefix" {
  description = "Prefix of every name, project and workspace: e.g. ecobid-dev."
  type        = string
}

variable "admin_alert_emails" {
  description = "Email addresses subscribed to the admin alerts topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.admin_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "admin_alert_emails must hold email addresses."
  }
}

variable "kms_master_key_id" {
  description = "KMS key encrypting the topics at rest (the AWS-managed SNS key by default)."
  type        = string
  default     = "alias/aws/sns"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
