variable "name_prefix" {
  description = "Prefix of every name, project and workspace: e.g. ecobid-dev."
  type        = string
}

variable "function_name" {
  description = "Name of the API Lambda function (for the invoke permission)."
  type        = string
}

variable "function_invoke_arn" {
  description = "Invoke ARN of the API Lambda function."
  type        = string
}

variable "routes" {
  description = "Route keys (\"METHOD /path/{param}\", or \"$default\" for every request no other route matches) of the API, each true when it needs a valid token (JWT authorizer), false when it is public."
  type        = map(bool)

  validation {
    condition     = alltrue([for k in keys(var.routes) : k == "$default" || can(regex("^(GET|POST|PUT|PATCH|DELETE) /[A-Za-z0-9{}/._-]*$", k))])
    error_message = "Route keys must look like \"GET /items/{id}\" (or be \"$default\")."
  }
}

variable "throttling_burst_limit" {
  description = "Stage-wide burst limit (requests); API Gateway answers 429 above it."
  type        = number
  default     = 200

  validation {
    condition     = var.throttling_burst_limit >= 1
    error_message = "throttling_burst_limit must be at least 1."
  }
}

variable "throttling_rate_limit" {
  description = "Stage-wide steady rate limit (requests per second); API Gateway answers 429 above it."
  type        = number
  default     = 100

  validation {
    condition     = var.throttling_rate_limit >= 1
    error_message = "throttling_rate_limit must be at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Retention of the access log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.access_log_retention_days)
    error_message = "access_log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "token_validity_minutes" {
  description = "Lifetime of access and id tokens."
  type        = number
  default     = 60

  validation {
    condition     = var.token_validity_minutes >= 5 && var.token_validity_minutes <= 1440
    error_message = "token_validity_minutes must be between 5 and 1440."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "password_auth" {
  description = "Whether the app client also accepts USER_PASSWORD_AUTH (the password sent to Cognito as is). Only for the local stack, whose tests sign in that way; elsewhere the app signs in with SRP (the password never leaves the device)."
  type        = bool
  default     = false
}

variable "mfa" {
  description = "The user pool's multi-factor authentication: OFF, OPTIONAL (users may add an authenticator app) or ON (every user must; only for a new pool, Cognito cannot require it of existing users)."
  type        = string
  default     = "OFF"

  validation {
    condition     = contains(["OFF", "OPTIONAL", "ON"], var.mfa)
    error_message = "mfa must be OFF, OPTIONAL or ON."
  }
}
