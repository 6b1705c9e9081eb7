variable "name_prefix" {
  description = "Prefix of every name, project and workspace: e.g. ecobid-dev."
  type        = string
}

variable "bucket_names" {
  description = "Globally unique names of the uploads and thumbnails buckets."
  type = object({
    uploads    = string
    thumbnails = string
  })

  validation {
    condition     = alltrue([for b in values(var.bucket_names) : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b))])
    error_message = "bucket_names must be valid S3 bucket names (3-63 lowercase letters, digits, '.' or '-')."
  }
}

variable "images_queue_arn" {
  description = "Queue that receives the uploads bucket's ObjectCreated notifications under uploads/."
  type        = string
}

variable "uploads_prefix" {
  description = "Key prefix of photo uploads; only these notify the images queue."
  type        = string
  default     = "uploads/"

  validation {
    condition     = endswith(var.uploads_prefix, "/")
    error_message = "uploads_prefix must end with '/'."
  }
}

variable "upload_expiration_days" {
  description = "Days after which original uploads are deleted (thumbnails are kept)."
  type        = number
  default     = 30

  validation {
    condition     = var.upload_expiration_days >= 1
    error_message = "upload_expiration_days must be at least 1."
  }
}

variable "point_in_time_recovery" {
  description = "Point-in-time recovery of the table."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Protect the table from deletion (on in prod)."
  type        = bool
  default     = false
}

variable "force_destroy_buckets" {
  description = "Allow terraform destroy to delete non-empty buckets (only for throw-away workspaces)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "enforce_tls" {
  description = "Deny every request to the buckets not made over TLS (aws:SecureTransport). Only a local emulator speaking plain HTTP turns it off: there the policy (rightly) refuses every read."
  type        = bool
  default     = true
}

variable "thumbnails_readers" {
  description = "ARNs of the CloudFront distributions that may read the thumbnails bucket (through Origin Access Control); empty: none."
  type        = list(string)
  default     = []
}
