data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # Every name carries the project and the workspace: ecobid-<workspace>-...
  name_prefix = "ecobid-${terraform.workspace}"
  # The functions' EMF metrics (infra::metrics), one namespace per workspace.
  metrics_namespace = "EcoBid/${terraform.workspace}"
  bucket_names = {
    uploads    = join("-", compact(["${local.name_prefix}-uploads", var.bucket_suffix]))
    thumbnails = join("-", compact(["${local.name_prefix}-thumbnails", var.bucket_suffix]))
  }
  artifacts_dir = coalesce(var.artifacts_dir, "${path.root}/../dist/lambda")
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  account_id    = data.aws_caller_identity.current.account_id

  # Which event types reach which queue (DOMAIN.md, "Queues"); the images queue is fed by S3 instead. The
  # index queue gets every event that can change what search finds of a listing (domain::search::listing_of).
  event_routes = {
    ItemCreated          = { source = "ecobid.items", targets = ["notifications", "index"] }
    ItemUpdated          = { source = "ecobid.items", targets = ["index"] }
    ItemDeleted          = { source = "ecobid.items", targets = ["index"] }
    ItemExpired          = { source = "ecobid.items", targets = ["notifications", "index"] }
    ItemTakenDown        = { source = "ecobid.items", targets = ["notifications", "index", "auction-closes"] }
    ItemFlagged          = { source = "ecobid.items", targets = ["notifications"] }
    ReservationCreated   = { source = "ecobid.reservations", targets = ["notifications", "expiries", "index"] }
    ReservationConfirmed = { source = "ecobid.reservations", targets = ["notifications", "expiries"] }
    PickupReminder       = { source = "ecobid.reservations", targets = ["notifications"] }
    ReservationCompleted = { source = "ecobid.reservations", targets = ["expiries"] }
    ReservationCancelled = { source = "ecobid.reservations", targets = ["notifications", "expiries", "index"] }
    ReservationExpired   = { source = "ecobid.reservations", targets = ["notifications", "index"] }
    AuctionCreated       = { source = "ecobid.auctions", targets = ["auction-closes"] }
    AuctionExtended      = { source = "ecobid.auctions", targets = ["auction-closes"] }
    BidPlaced            = { source = "ecobid.auctions", targets = ["notifications"] }
    AuctionEnded         = { source = "ecobid.auctions", targets = ["notifications", "index"] }
    ImageRejected        = { source = "ecobid.images", targets = ["notifications"] }
    UserRated            = { source = "ecobid.users", targets = ["notifications"] }
    UserSuspended        = { source = "ecobid.users", targets = ["notifications"] }
    UserReinstated       = { source = "ecobid.users", targets = ["notifications"] }
  }

  # The mobile app's routes: true = needs a token (the JWT authorizer), false = public.
  api_routes = {
    "GET /openapi.json"                = false
    "GET /items"                       = false
    "GET /items/{id}"                  = false
    "POST /items"                      = true
    "PATCH /items/{id}"                = true
    "DELETE /items/{id}"               = true
    "POST /items/{id}/photos"          = true
    "POST /items/{id}/reserve"         = true
    "GET /reservations/{id}"           = true
    "POST /reservations/{id}/confirm"  = true
    "POST /reservations/{id}/complete" = true
    "POST /reservations/{id}/cancel"   = true
    "POST /auctions"                   = true
    "GET /auctions/{id}"               = false
    "POST /auctions/{id}/bids"         = true
    "GET /auctions/{id}/bids"          = false
    "GET /users/me"                    = true
    "PUT /users/me"                    = true
    "DELETE /users/me"                 = true
    "POST /users/me/devices"           = true
    "DELETE /users/me/devices/{id}"    = true
    "GET /users/me/items"              = true
    "GET /users/me/reservations"       = true
    "GET /users/me/auctions"           = true
    "GET /users/me/bids"               = true
    "GET /users/{id}"                  = false
    "GET /users/{id}/ratings"          = false
    "POST /users/{id}/ratings"         = true
    # Moderators only: the function refuses (403) a token outside the moderators group.
    "POST /admin/items/{id}/takedown"  = true
    "POST /admin/users/{id}/suspend"   = true
    "POST /admin/users/{id}/reinstate" = true
    # Everything else reaches the function too, which answers 405 with Allow for a method a path lacks and a
    # 404 problem for a path nobody has (API Gateway would answer both 404 itself); no token is checked here,
    # and no handler serves a request without the authorizer's claims.
    "$default" = false
  }

  push_applications = values(module.notifications.push_application_arns)
  table_resources   = [module.storage.table_arn, "${module.storage.table_arn}/index/*"]
  schedules_arn     = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${module.scheduler.schedule_group_name}/*"
  # Endpoint ARNs are arn:…:endpoint/<platform>/<application name>/<id>.
  push_endpoints   = [for a in local.push_applications : "arn:${local.partition}:sns:${local.region}:${local.account_id}:endpoint/${join("/", slice(split("/", a), 1, 3))}/*"]
  table_read_write = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
  schedule_actions = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"]
  # Workers that schedule one-time Scheduler deliveries to their own queue (expiries, auction closes).
  scheduling_worker_statements = [
    { sid = "Table", actions = concat(local.table_read_write, ["dynamodb:TransactWriteItems"]), resources = local.table_resources },
    { sid = "Schedules", actions = local.schedule_actions, resources = [local.schedules_arn] },
    { sid = "PassSchedulerRole", actions = ["iam:PassRole"], resources = [module.scheduler.role_arn] },
  ]
  scheduler_env = {
    SCHEDULE_GROUP               = module.scheduler.schedule_group_name
    SCHEDULER_ROLE_ARN           = module.scheduler.role_arn
    EXPIRIES_QUEUE_ARN           = module.queues["expiries"].queue_arn
    AUCTION_CLOSES_QUEUE_ARN     = module.queues["auction-closes"].queue_arn
    PICKUP_REMINDER_LEAD_SECONDS = tostring(var.pickup_reminder_lead_seconds)
  }

  # What each queue's worker may do besides consuming its queue (least privilege, one function each).
  workers = {
    images = {
      description = "Thumbnails, labels and moderation of uploaded photos (images queue)."
      statements = [
        { sid = "ReadUploads", actions = ["s3:GetObject"], resources = ["${module.storage.uploads_bucket_arn}/${module.storage.uploads_prefix}*"] },
        { sid = "WriteThumbnails", actions = ["s3:PutObject"], resources = ["${module.storage.thumbnails_bucket_arn}/*"] },
        { sid = "Table", actions = local.table_read_write, resources = local.table_resources },
        # Rekognition's Detect* actions have no resource-level permissions: "*" is the only resource they take.
        { sid = "DetectLabels", actions = ["rekognition:DetectLabels", "rekognition:DetectModerationLabels"], resources = ["*"] },
      ]
      environment = merge(
        {
          UPLOADS_BUCKET    = module.storage.uploads_bucket
          UPLOADS_PREFIX    = module.storage.uploads_prefix
          THUMBNAILS_BUCKET = module.storage.thumbnails_bucket
        },
        # Unset: the worker works its budget out from its memory_size (what is left after the process).
        var.image_memory_budget_mb == null ? {} : { IMAGE_MEMORY_BUDGET_MB = tostring(var.image_memory_budget_mb) },
      )
    }
    notifications = {
      description = "Tells each recipient of a domain event once: push to their devices (SNS), email (SES) (notifications queue)."
      statements = concat([
        { sid = "Table", actions = local.table_read_write, resources = local.table_resources },
        # Big audiences are split into chunks on the worker's own queue.
        { sid = "FanOut", actions = ["sqs:SendMessage"], resources = [module.queues["notifications"].queue_arn] },
        { sid = "Email", actions = ["ses:SendEmail"], resources = [module.notifications.email_identity_arn, module.notifications.email_configuration_set_arn] },
        ], length(local.push_applications) > 0 ? [
        { sid = "Push", actions = ["sns:Publish"], resources = local.push_endpoints },
      ] : [])
      environment = {
        EMAIL_FROM              = module.notifications.email_from
        EMAIL_CONFIGURATION_SET = module.notifications.email_configuration_set
        # A claim not confirmed sent within twice the timeout is claimed again by a later receive.
        CLAIM_LEASE_SECONDS = tostring(2 * var.queues["notifications"].function_timeout_seconds)
      }
    }
    expiries = {
      description = "Schedules and carries out reservation and listing expiries (expiries queue)."
      statements  = local.scheduling_worker_statements
      environment = local.scheduler_env
    }
    "auction-closes" = {
      description = "Schedules and carries out auction closes (auction-closes queue)."
      statements  = local.scheduling_worker_statements
      environment = local.scheduler_env
    }
    index = {
      description = "Screens listings' text and keeps the search index up to date with them (index queue)."
      statements = [
        # Reads the listing again (consistently), writes a flag with ItemFlagged and records ErrorOccurred
        # events in the outbox (IAM checks the Puts of a transaction as PutItem).
        { sid = "Listings", actions = ["dynamodb:GetItem", "dynamodb:PutItem"], resources = [module.storage.table_arn] },
        { sid = "SearchIndex", actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], resources = [module.storage.search_table_arn] },
        # DetectToxicContent supports no resource-level permissions.
        { sid = "ScreenText", actions = ["comprehend:DetectToxicContent"], resources = ["*"] },
      ]
      environment = {
        SEARCH_TABLE_NAME = module.storage.search_table_name
      }
    }
  }
}

check "workspace_selected" {
  assert {
    condition     = terraform.workspace != "default"
    error_message = "Select a workspace first (terraform workspace select dev|staging|prod): names carry the workspace."
  }
}

#### Notifications: push applications, the email sender, admin alerts ############

module "notifications" {
  source = "./modules/notifications"

  name_prefix                = local.name_prefix
  admin_alert_emails         = var.admin_alert_emails
  push_credentials           = var.push_credentials
  push_credentials_secret_id = var.push_credentials_secret_id
  email_from                 = replace(var.email.from, "{workspace}", terraform.workspace)
  email_verify_domain        = var.email.verify_domain
}

#### Event queues, each with its DLQ ###############################################

module "queues" {
  source   = "./modules/queue"
  for_each = var.queues

  name                       = "${local.name_prefix}-${each.key}"
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  max_receive_count          = each.value.max_receive_count
  alarm_topic_arn            = module.notifications.admin_topic_arn
  allowed_senders = each.key == "images" ? [
    # A bucket's ARN names no account: the account condition keeps a same-named bucket elsewhere out.
    { service = "s3.amazonaws.com", source_arns = ["arn:${local.partition}:s3:::${local.bucket_names.uploads}"], source_account = local.account_id },
    ] : contains(flatten([for r in values(local.event_routes) : r.targets]), each.key) ? [
    # Every branch has the same attributes: a conditional unifies the objects' types, and an attribute only one
    # branch has is dropped (the S3 sender lost its account condition that way).
    { service = "events.amazonaws.com", source_arns = [module.event_bus.rule_arn_pattern], source_account = null },
  ] : []
}

#### Table (the outbox) and buckets ##################################################

module "storage" {
  source = "./modules/storage"

  name_prefix            = local.name_prefix
  bucket_names           = local.bucket_names
  images_queue_arn       = module.queues["images"].queue_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.deletion_protection
  force_destroy_buckets  = var.force_destroy_buckets
  enforce_tls            = var.enforce_tls_on_buckets
  # The thumbnails are read by the CDN, and only by it.
  thumbnails_readers = [module.cdn.distribution_arn]

  # S3 checks at configuration time that it may send to the queue.
  depends_on = [module.queues]
}

#### CDN: the thumbnails, served to the app ############################################

module "cdn" {
  source = "./modules/cdn"

  name_prefix                        = local.name_prefix
  origin_bucket_regional_domain_name = module.storage.thumbnails_bucket_regional_domain_name
  price_class                        = var.cdn.price_class
  aliases                            = var.cdn.aliases
  acm_certificate_arn                = var.cdn.acm_certificate_arn
  wait_for_deployment                = var.cdn.wait_for_deployment
}

#### Event bus: one rule per routed event type → its queue(s) ##########################

module "event_bus" {
  source = "./modules/event_bus"

  name_prefix     = local.name_prefix
  routes          = local.event_routes
  target_queues   = { for k, q in module.queues : k => q.queue_arn if k != "images" }
  alarm_topic_arn = module.notifications.admin_topic_arn
}

#### Scheduler: one-time expiries and closes ############################################

module "scheduler" {
  source = "./modules/scheduler"

  name_prefix = local.name_prefix
  target_queue_arns = {
    expiries         = module.queues["expiries"].queue_arn
    "auction-closes" = module.queues["auction-closes"].queue_arn
  }
  # The daily sweep of listings past their expiresAt (DOMAIN.md: any listing not taken → EXPIRED).
  recurring = {
    "stale-listings" = {
      expression = var.stale_listings_schedule
      target     = "expiries"
      input      = jsonencode({ due = "stale-listings" })
    }
  }
}

#### Workers: one per event queue ######################################################

module "workers" {
  source   = "./modules/worker"
  for_each = local.workers

  name               = "${local.name_prefix}-${each.key}-worker"
  description        = each.value.description
  artifact_path      = "${local.artifacts_dir}/${each.key}-worker.zip"
  architecture       = var.lambda_architecture
  memory_mb          = var.queues[each.key].memory_mb
  timeout_seconds    = var.queues[each.key].function_timeout_seconds
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  metrics_namespace  = local.metrics_namespace
  log_aws_requests   = var.log_aws_requests
  policy_statements  = each.value.statements

  sqs_source = {
    queue_arn                = module.queues[each.key].queue_arn
    queue_visibility_timeout = module.queues[each.key].visibility_timeout_seconds
    dlq_arn                  = module.queues[each.key].dlq_arn
    batch_size               = var.queues[each.key].batch_size
    batching_window_seconds  = var.queues[each.key].batching_window_seconds
    maximum_concurrency      = var.queues[each.key].maximum_concurrency
    enabled                  = var.event_source_mappings_enabled
  }

  # The worker runtime's config: the same typed queue policy Terraform applies (STYLE.md §9).
  environment = merge(each.value.environment, {
    TABLE_NAME           = module.storage.table_name
    QUEUE_URL            = module.queues[each.key].queue_url
    DLQ_URL              = module.queues[each.key].dlq_url
    MAX_RECEIVE_COUNT    = tostring(var.queues[each.key].max_receive_count)
    BACKOFF_BASE_SECONDS = tostring(var.queues[each.key].backoff_base_seconds)
    BACKOFF_MAX_SECONDS  = tostring(var.queues[each.key].backoff_max_seconds)
    BATCH_SIZE           = tostring(var.queues[each.key].batch_size)
    MAX_CONCURRENCY      = tostring(var.queues[each.key].maximum_concurrency)
  })
}

#### Stream publisher: table changes → domain events (the outbox relay) ####################

module "stream_publisher" {
  source = "./modules/worker"

  name               = "${local.name_prefix}-stream-publisher"
  description        = "Turns the table's stream records into domain events on the bus."
  artifact_path      = "${local.artifacts_dir}/stream-publisher.zip"
  architecture       = var.lambda_architecture
  memory_mb          = var.stream_publisher.memory_mb
  timeout_seconds    = var.stream_publisher.timeout_seconds
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  metrics_namespace  = local.metrics_namespace
  log_aws_requests   = var.log_aws_requests

  stream_source = {
    stream_arn              = module.storage.table_stream_arn
    batch_size              = var.stream_publisher.batch_size
    batching_window_seconds = var.stream_publisher.batching_seconds
    enabled                 = var.event_source_mappings_enabled
    maximum_retry_attempts  = var.stream_publisher.retry_attempts
    on_failure_queue_arn    = module.event_bus.outbox_dlq_arn
  }

  policy_statements = [
    { sid = "PutEvents", actions = ["events:PutEvents"], resources = [module.event_bus.bus_arn] },
  ]

  environment = {
    EVENT_BUS_NAME       = module.event_bus.bus_name
    RETRY_WINDOW_SECONDS = tostring(var.stream_publisher.retry_window_seconds)
    # Records that can never be published go here at once (the role may send: the mapping's destination).
    OUTBOX_DLQ_URL = module.event_bus.outbox_dlq_url
  }
}

#### REST API: Lambda behind the HTTP API with the Cognito JWT authorizer ###################

module "api_function" {
  source = "./modules/worker"

  name               = "${local.name_prefix}-api"
  description        = "The REST API the mobile app calls (axum on lambda_http)."
  artifact_path      = "${local.artifacts_dir}/api.zip"
  architecture       = var.lambda_architecture
  memory_mb          = var.api.memory_mb
  timeout_seconds    = var.api.timeout_seconds
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  metrics_namespace  = local.metrics_namespace
  log_aws_requests   = var.log_aws_requests

  policy_statements = concat([
    { sid = "Table", actions = concat(local.table_read_write, ["dynamodb:TransactWriteItems", "dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem"]), resources = local.table_resources },
    { sid = "Search", actions = ["dynamodb:Query"], resources = [module.storage.search_table_arn] },
    # The presigned POST for photo uploads is signed with the function's credentials.
    { sid = "PresignUploads", actions = ["s3:PutObject"], resources = ["${module.storage.uploads_bucket_arn}/${module.storage.uploads_prefix}*"] },
    # DELETE /users/me: the account's photos (uploads/<user>/..., <user>/... in the thumbnails bucket) and its
    # user in the pool.
    { sid = "ListPhotos", actions = ["s3:ListBucket"], resources = [module.storage.uploads_bucket_arn, module.storage.thumbnails_bucket_arn] },
    { sid = "ErasePhotos", actions = ["s3:DeleteObject"], resources = ["${module.storage.uploads_bucket_arn}/${module.storage.uploads_prefix}*", "${module.storage.thumbnails_bucket_arn}/*"] },
    { sid = "DeleteUser", actions = ["cognito-idp:AdminDeleteUser"], resources = [module.http_api.user_pool_arn] },
    ],
    # Push tokens become endpoints of the configured platform applications (none configured: no statement):
    # created, read and corrected on registration, deleted on unregistration.
    length(local.push_applications) > 0 ? [
      { sid = "PushApplications", actions = ["sns:CreatePlatformEndpoint"], resources = local.push_applications },
      { sid = "PushEndpoints", actions = ["sns:GetEndpointAttributes", "sns:SetEndpointAttributes", "sns:DeleteEndpoint"], resources = local.push_endpoints },
    ] : [],
  )

  environment = {
    TABLE_NAME                   = module.storage.table_name
    SEARCH_TABLE_NAME            = module.storage.search_table_name
    UPLOADS_BUCKET               = module.storage.uploads_bucket
    UPLOADS_PREFIX               = module.storage.uploads_prefix
    RESERVATION_TTL_SECONDS      = tostring(var.api.reservation_ttl_seconds)
    MIN_AUCTION_SECONDS          = tostring(var.api.min_auction_seconds)
    SNIPING_WINDOW_SECONDS       = tostring(var.api.sniping_window_seconds)
    PUSH_APPLICATION_ARN_IOS     = lookup(module.notifications.push_application_arns, "ios", "")
    PUSH_APPLICATION_ARN_ANDROID = lookup(module.notifications.push_application_arns, "android", "")
    # Thumbnails are served from here: <MEDIA_BASE_URL>/<thumbnail key>.
    MEDIA_BASE_URL = module.cdn.media_base_url
    # A deleted account's photos go from both buckets; its user from the pool.
    THUMBNAILS_BUCKET = module.storage.thumbnails_bucket
    USER_POOL_ID      = module.http_api.user_pool_id
    # Tokens whose `cognito:groups` holds it may use the /admin routes.
    MODERATORS_GROUP = module.http_api.moderators_group
  }
}

module "http_api" {
  source = "./modules/http_api"

  name_prefix               = local.name_prefix
  function_name             = module.api_function.function_name
  function_invoke_arn       = module.api_function.invoke_arn
  routes                    = local.api_routes
  throttling_rate_limit     = var.api.throttling_rate_limit
  throttling_burst_limit    = var.api.throttling_burst_limit
  access_log_retention_days = var.log_retention_days
  password_auth             = var.api.password_auth
  mfa                       = var.api.mfa
}

#### Observability: alarms on the EMF metrics and AWS's own, one dashboard ##################

module "observability" {
  source = "./modules/observability"

  name_prefix       = local.name_prefix
  metrics_namespace = local.metrics_namespace
  worker_functions = merge(
    { for k, w in module.workers : "${k} worker" => w.function_name },
    { "stream publisher" = module.stream_publisher.function_name },
  )
  lambda_functions = merge(
    { for k, w in module.workers : "${k} worker" => w.function_name },
    { "stream publisher" = module.stream_publisher.function_name, "api" = module.api_function.function_name },
  )
  stream_function_name = module.stream_publisher.function_name
  api_id               = module.http_api.api_id
  api_function_name    = module.api_function.function_name
  table_name           = module.storage.table_name
  dlq_names            = concat([for q in module.queues : q.dlq_name], [module.event_bus.dlq_name, module.event_bus.outbox_dlq_name])
  dlq_alarm_arns       = concat([for q in module.queues : q.dlq_alarm_arn], [module.event_bus.dlq_alarm_arn, module.event_bus.outbox_dlq_alarm_arn])
  alarm_topic_arn      = module.notifications.admin_topic_arn
}
