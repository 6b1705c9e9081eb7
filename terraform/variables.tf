variable "aws_region" {
  description = "AWS region of the workspace."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "aws_endpoint_url" {
  description = "Endpoint of a local AWS emulator (moto server) for every service; null in AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/]+$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be a base URL such as http://127.0.0.1:4566 (no path)."
  }
}

variable "artifacts_dir" {
  description = "Folder holding one <function>.zip per Lambda (bootstrap inside), built by scripts/package. Null: dist/lambda at the repository root."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Instruction set of every Lambda; scripts/package builds for the same one."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "log_level" {
  description = "Application log level of every Lambda."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR."
  }
}

variable "log_aws_requests" {
  description = "Every Lambda logs one JSON line per AWS request it makes (what scripts/cost-model counts). Small lines, but one per request: meant for test and cost-measuring stacks."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of every log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "event_source_mappings_enabled" {
  description = "Whether the Lambda event-source mappings are enabled. False on the local stack: moto would consume and drop the messages; the local runner plays the mappings instead."
  type        = bool
  default     = true
}

variable "queues" {
  description = <<-EOT
    The retry and scaling policy of each event queue and its worker, one typed config (the worker runtime reads
    the same values from its environment). Keys: images, notifications, expiries, auction-closes, index.
    - max_receive_count: receives a message gets; the worker dead-letters it on the last one (SQS's redrive
      policy, set to the same count, is the backstop for an invocation that never answers).
    - visibility_timeout_seconds: at least 6 x function_timeout_seconds.
    - backoff_base_seconds / backoff_max_seconds: the runtime's exponential backoff (with jitter) for transient
      failures. With the defaults (10 receives, 5 s doubling to 15 min) a message survives a dependency failing
      on every receive for at least 36 min 15 s (the retry budget the stack tests print per environment and
      require to be at least 30 min in staging and prod); the old 5 receives of 2 s lasted 30 s.
    - batch_size, batching_window_seconds, maximum_concurrency: the event-source mapping.
  EOT
  type = map(object({
    max_receive_count          = optional(number, 10)
    visibility_timeout_seconds = optional(number, 180)
    function_timeout_seconds   = optional(number, 30)
    memory_mb                  = optional(number, 256)
    batch_size                 = optional(number, 10)
    batching_window_seconds    = optional(number, 0)
    maximum_concurrency        = optional(number, 5)
    backoff_base_seconds       = optional(number, 5)
    backoff_max_seconds        = optional(number, 900)
  }))
  default = {
    images = {
      function_timeout_seconds   = 60
      visibility_timeout_seconds = 360
      memory_mb                  = 1024
      batch_size                 = 5
      maximum_concurrency        = 4
    }
    # A message can be a chunk of up to 25 recipients (the worker's CHUNK), and the work of an invocation
    # is its batch's: one message each keeps it to <= 25 recipients x 2 channels (a batch of ten chunks
    # took 16 s of the 30 s timeout on the local stack). Lambda requests cost $0.20 per million.
    notifications = {
      batch_size = 1
    }
    expiries         = {}
    "auction-closes" = {}
    index            = {}
  }

  validation {
    condition     = sort(keys(var.queues)) == sort(["images", "notifications", "expiries", "auction-closes", "index"])
    error_message = "queues must configure exactly: images, notifications, expiries, auction-closes, index."
  }

  validation {
    condition     = alltrue([for q in values(var.queues) : q.backoff_base_seconds >= 1 && q.backoff_base_seconds <= q.backoff_max_seconds && q.backoff_max_seconds <= 43200])
    error_message = "Each queue needs 1 <= backoff_base_seconds <= backoff_max_seconds <= 43200 (SQS's visibility limit)."
  }
}

variable "stream_publisher" {
  description = "The stream publisher's settings: table stream records to domain events on the bus. While the bus refuses events, an invocation retries them for retry_window_seconds, then Lambda retries the batch up to retry_attempts times before it sends it to the outbox DLQ: the stream outlasts (retry_attempts + 1) x retry_window_seconds of outage."
  type = object({
    batch_size           = optional(number, 100)
    timeout_seconds      = optional(number, 30)
    memory_mb            = optional(number, 256)
    batching_seconds     = optional(number, 0)
    retry_attempts       = optional(number, 100)
    retry_window_seconds = optional(number, 20)
  })
  default = {}

  validation {
    condition     = var.stream_publisher.retry_window_seconds >= 1 && var.stream_publisher.retry_window_seconds + 5 <= var.stream_publisher.timeout_seconds
    error_message = "stream_publisher.retry_window_seconds must be at least 1 and leave 5 s of timeout_seconds for the last try."
  }

  validation {
    condition     = var.stream_publisher.retry_attempts >= 0 && var.stream_publisher.retry_attempts <= 10000 && floor(var.stream_publisher.retry_attempts) == var.stream_publisher.retry_attempts
    error_message = "stream_publisher.retry_attempts must be a whole number from 0 to 10000 (a bounded retry: -1 would let one record stall its shard for 24 h)."
  }
}

variable "api" {
  description = "The API Lambda, its stage's throttling (API Gateway answers 429 above these), how long reservations hold an item, the shortest auction, the anti-sniping window (a bid this close to the end extends the auction by as much), and sign-in: password_auth (USER_PASSWORD_AUTH besides SRP: the local stack only) and mfa (OFF, OPTIONAL or ON: an authenticator app)."
  type = object({
    timeout_seconds         = optional(number, 10)
    memory_mb               = optional(number, 512)
    throttling_rate_limit   = optional(number, 100)
    throttling_burst_limit  = optional(number, 200)
    reservation_ttl_seconds = optional(number, 86400)
    min_auction_seconds     = optional(number, 300)
    sniping_window_seconds  = optional(number, 120)
    # Sign-in: USER_PASSWORD_AUTH only where tests need it (local); SRP everywhere. MFA: OFF, OPTIONAL or ON.
    password_auth = optional(bool, false)
    mfa           = optional(string, "OFF")
  })
  default = {}

  validation {
    condition     = var.api.reservation_ttl_seconds >= 1 && var.api.min_auction_seconds >= 1 && var.api.min_auction_seconds <= 604800 && var.api.sniping_window_seconds >= 1
    error_message = "api.reservation_ttl_seconds must be at least 1; api.min_auction_seconds 1 to 604800 (7 days); api.sniping_window_seconds at least 1."
  }
}

variable "admin_alert_emails" {
  description = "Email addresses subscribed to the admin alerts topic (alarms)."
  type        = list(string)
  default     = []
}

variable "push_credentials" {
  description = "Push credentials per platform (apns, fcm), as the notifications module takes them; a platform left out is off. Prefer push_credentials_secret_id outside the local stack."
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
}

variable "push_credentials_secret_id" {
  description = "A Secrets Manager secret holding push_credentials as JSON; used instead of push_credentials when set."
  type        = string
  default     = null
}

variable "email" {
  description = "Users' email notices: the sender (an address or \"Name <address>\"; {workspace} in it is replaced by the workspace's name) and whether its whole domain is verified (DKIM) rather than the one address. An SES identity belongs to the account, not the workspace: workspaces sharing an account need distinct senders (or domains), which {workspace} gives them."
  type = object({
    from          = string
    verify_domain = optional(bool, true)
  })
}

variable "pickup_reminder_lead_seconds" {
  description = "How long before a confirmed pickup both parties are reminded (DOMAIN: an hour); tests shorten it."
  type        = number
  default     = 3600

  validation {
    condition     = var.pickup_reminder_lead_seconds >= 1
    error_message = "pickup_reminder_lead_seconds must be at least 1."
  }
}

variable "bucket_suffix" {
  description = "Appended to S3 bucket names to make them globally unique (e.g. the account id); empty on the local stack."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[a-z0-9-]{0,20}$", var.bucket_suffix))
    error_message = "bucket_suffix must be at most 20 lowercase letters, digits or '-'."
  }
}

variable "point_in_time_recovery" {
  description = "Point-in-time recovery of the table."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Protect the table from deletion."
  type        = bool
  default     = false
}

variable "stale_listings_schedule" {
  description = "When the expiries worker sweeps listings past their expiresAt: a Scheduler cron() or rate() expression, UTC."
  type        = string
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.stale_listings_schedule))
    error_message = "stale_listings_schedule must be a cron() or rate() expression."
  }
}

variable "enforce_tls_on_buckets" {
  description = "Bucket policies deny requests not made over TLS. Off only for the local emulator, which speaks plain HTTP."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete non-empty buckets (throw-away workspaces only)."
  type        = bool
  default     = false
}

variable "cdn" {
  description = "The thumbnails' CDN: CloudFront's price class, optional custom domain names with their ACM certificate (us-east-1), and whether apply waits for the distribution to be deployed."
  type = object({
    price_class         = optional(string, "PriceClass_100")
    aliases             = optional(list(string), [])
    acm_certificate_arn = optional(string)
    wait_for_deployment = optional(bool, true)
  })
  default = {}
}

variable "image_memory_budget_mb" {
  description = "The memory (MB) the images worker's image work may hold at once. Null (the default): the function's memory_size less what the process and the uploads in flight need. Set it only to test what happens without a budget (a value above memory_size lets a batch of huge images exhaust the function)."
  type        = number
  default     = null
  nullable    = true

  validation {
    condition     = var.image_memory_budget_mb == null || try(var.image_memory_budget_mb >= 1 && floor(var.image_memory_budget_mb) == var.image_memory_budget_mb, false)
    error_message = "image_memory_budget_mb is a whole number of MB, at least 1 (or null)."
  }
}
