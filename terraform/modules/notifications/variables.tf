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

variable "alert_publishing_services" {
  description = "AWS service principals that publish to the admin alerts topic and so may use its KMS key."
  type        = list(string)
  default     = ["cloudwatch.amazonaws.com"]
}

variable "push_credentials" {
  description = <<-EOT
    Push credentials per platform; a platform left out is off (registering one of its devices answers 422).
    - apns: token-based APNs: signing_key (the .p8 key's PEM text), signing_key_id, team_id, bundle_id, and
      sandbox = true for development builds of the app.
    - fcm: service_account_json, the Firebase service account's JSON key (FCM HTTP v1).
  EOT
  type = object({
    apns = optional(object({
      signing_key    = string
      signing_key_id = string
      team_id        = string
      bundle_id      = string
      sandbox        = optional(bool, false)
    }))
    fcm = optional(object({
      service_account_json = string
    }))
  })
  default   = {}
  sensitive = true

  validation {
    condition     = try(var.push_credentials.apns, null) == null || can(regex("^[A-Z0-9]{10}$", var.push_credentials.apns.team_id))
    error_message = "push_credentials.apns.team_id must be the 10-character Apple team id."
  }
}

variable "push_credentials_secret_id" {
  description = "A Secrets Manager secret holding push_credentials as JSON (same shape); when set, it is used instead of push_credentials."
  type        = string
  default     = null
}

variable "email_from" {
  description = "The sender of users' email notices: an address, or \"Name <address>\"."
  type        = string

  validation {
    condition     = can(regex("^([^<>]*<)?[^@<>\\s]+@[^@<>\\s]+\\.[^@<>\\s]+>?$", var.email_from))
    error_message = "email_from must be an address (no-reply@example.com) or \"Name <no-reply@example.com>\"."
  }
}

variable "email_verify_domain" {
  description = "Verify the sender's whole domain (DKIM) rather than the one address: true in AWS, where mail from an unverified domain lands in spam."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
