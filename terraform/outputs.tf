output "workspace" {
  description = "The workspace (environment) these resources belong to."
  value       = terraform.workspace
}

output "region" {
  description = "AWS region of the workspace."
  value       = data.aws_region.current.name
}

output "queues" {
  description = "Each event queue with its DLQ and the typed retry policy its worker runs with."
  value = {
    for k, q in module.queues : k => {
      queue_name = q.queue_name
      queue_url  = q.queue_url
      queue_arn  = q.queue_arn
      dlq_name   = q.dlq_name
      dlq_url    = q.dlq_url
      dlq_arn    = q.dlq_arn
      policy     = var.queues[k]
    }
  }
}

output "events_dlq_url" {
  description = "Queue EventBridge sends events it could not deliver to."
  value       = module.event_bus.dlq_url
}

output "outbox_dlq_url" {
  description = "URL of the outbox DLQ: records the stream publisher can never publish, and the batches its mapping gave up on."
  value       = module.event_bus.outbox_dlq_url
}

output "table_name" {
  description = "The single DynamoDB table."
  value       = module.storage.table_name
}

output "table_stream_arn" {
  description = "The table's stream (the outbox)."
  value       = module.storage.table_stream_arn
}

output "uploads_bucket" {
  description = "Bucket photos are uploaded to."
  value       = module.storage.uploads_bucket
}

output "thumbnails_bucket" {
  description = "Bucket thumbnails are written to."
  value       = module.storage.thumbnails_bucket
}

output "event_bus_name" {
  description = "The custom EventBridge bus."
  value       = module.event_bus.bus_name
}

output "event_archive_name" {
  description = "The bus's archive, for replay."
  value       = module.event_bus.archive_name
}

output "schedule_group" {
  description = "EventBridge Scheduler group of the one-time schedules."
  value       = module.scheduler.schedule_group_name
}

output "topics" {
  description = "SNS topics."
  value = {
    admin = module.notifications.admin_topic_arn
  }
}

output "notifications" {
  description = "Where users' notices go out: the push platform applications (per platform with credentials), the email sender and configuration set, the DKIM tokens to publish."
  value = {
    push_applications       = module.notifications.push_application_arns
    email_from              = module.notifications.email_from
    email_configuration_set = module.notifications.email_configuration_set
    email_dkim_tokens       = module.notifications.email_dkim_tokens
  }
}

output "functions" {
  description = "Lambda function names, by role."
  value = merge(
    { for k, w in module.workers : "${k}-worker" => w.function_name },
    { "stream-publisher" = module.stream_publisher.function_name, api = module.api_function.function_name },
  )
}

output "api_id" {
  description = "Id of the HTTP API."
  value       = module.http_api.api_id
}

output "api_endpoint" {
  description = "Base URL of the HTTP API (in AWS; the local runner serves it on 127.0.0.1 locally)."
  value       = module.http_api.api_endpoint
}

output "user_pool_id" {
  description = "Cognito user pool of the app's users."
  value       = module.http_api.user_pool_id
}

output "user_pool_client_id" {
  description = "The mobile app's user pool client (the JWT audience)."
  value       = module.http_api.user_pool_client_id
}

output "moderators_group" {
  description = "The user pool group whose members may use the /admin routes (add one with admin-add-user-to-group)."
  value       = module.http_api.moderators_group
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline (workers, API, DLQs, table throttles, alarms)."
  value       = module.observability.dashboard_name
}

output "alarm_arns" {
  description = "Alarms on worker error rates, the API's 5xx rate and table throttles (DLQ-depth alarms: with each queue)."
  value       = module.observability.alarm_arns
}

output "media_base_url" {
  description = "Base URL of the thumbnails (the CDN): a READY photo's thumbnail is at <media_base_url>/<key>."
  value       = module.cdn.media_base_url
}

output "cdn_distribution_id" {
  description = "Id of the thumbnails' CloudFront distribution."
  value       = module.cdn.distribution_id
}

output "stream_publisher" {
  description = "The stream publisher's settings with their defaults filled in (the tests compute its retry budget from them)."
  value       = var.stream_publisher
}
