data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name}"
}

#### Logs ######################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts every log group at rest; the functions log ids, never tokens or bodies, so a customer-managed key would add a key policy and cost without protecting more
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

#### IAM: only what this function needs #########################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  # X-Ray has no resource-level permissions: "*" is the only resource these actions accept.
  statement {
    sid       = "PutTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.sqs_source == null ? [] : [var.sqs_source]
    content {
      sid = "ConsumeSourceQueue"
      # ChangeMessageVisibility: the worker runtime's per-message backoff.
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
      resources = [statement.value.queue_arn]
    }
  }

  dynamic "statement" {
    for_each = var.sqs_source == null ? [] : [var.sqs_source]
    content {
      sid       = "SendPermanentFailuresToDlq"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value.dlq_arn]
    }
  }

  dynamic "statement" {
    for_each = var.stream_source == null ? [] : [var.stream_source]
    content {
      sid       = "ReadTableStream"
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
      resources = [statement.value.stream_arn]
    }
  }

  # Lambda sends what the stream mapping gives up on to its on-failure destination with the function's role.
  dynamic "statement" {
    for_each = try(var.stream_source.on_failure_queue_arn, null) == null ? [] : [var.stream_source]
    content {
      sid       = "SendDiscardedStreamBatchesToDestination"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value.on_failure_queue_arn]
    }
  }

  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-policy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

#### Function ##################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A Lambda DLQ catches failed asynchronous invocations only; these functions are invoked synchronously (SQS and stream event-source mappings, API Gateway), and each queue has its own DLQ with an alarm
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs over TLS (no database, nothing private to reach); a VPC would need NAT or interface endpoints (about $7/month each per AZ) for no isolation gained
  #checkov:skip=CKV_AWS_173:The environment holds names, URLs and numbers, no secret (push credentials live in Secrets Manager); Lambda encrypts it at rest with its service key
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the deploy pipeline signs with; the zips are built reproducibly (same hash twice) and only the pipeline's role may update the functions
  function_name                  = var.name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.architecture]
  filename                       = var.artifact_path
  source_code_hash               = filebase64sha256(var.artifact_path)
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = merge(var.environment, {
      METRICS_NAMESPACE = var.metrics_namespace
      LOG_AWS_REQUESTS  = tostring(var.log_aws_requests)
    })
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

#### Event sources #############################################################

resource "aws_lambda_event_source_mapping" "sqs" {
  count = var.sqs_source == null ? 0 : 1

  function_name                      = aws_lambda_function.this.arn
  event_source_arn                   = var.sqs_source.queue_arn
  enabled                            = var.sqs_source.enabled
  batch_size                         = var.sqs_source.batch_size
  maximum_batching_window_in_seconds = var.sqs_source.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_source.maximum_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.sqs_source.queue_visibility_timeout >= 6 * var.timeout_seconds
      error_message = "Queue visibility timeout (${var.sqs_source.queue_visibility_timeout} s) must be at least 6 x the timeout of function ${var.name} (${var.timeout_seconds} s, so >= ${6 * var.timeout_seconds} s): otherwise SQS redelivers messages that are still being processed."
    }
  }
}

resource "aws_lambda_event_source_mapping" "stream" {
  count = var.stream_source == null ? 0 : 1

  function_name                      = aws_lambda_function.this.arn
  event_source_arn                   = var.stream_source.stream_arn
  enabled                            = var.stream_source.enabled
  starting_position                  = var.stream_source.starting_position
  batch_size                         = var.stream_source.batch_size
  maximum_batching_window_in_seconds = var.stream_source.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  # A failing invocation is split in two, then in two again (splits do not count as retries): records that
  # can be handled are, and one that cannot is soon alone. A batch still failing after maximum_retry_attempts
  # retries goes to the on-failure destination (where the records are, not the records: they stay in the
  # stream for 24 h), and the shard moves on.
  bisect_batch_on_function_error = true
  maximum_retry_attempts         = var.stream_source.maximum_retry_attempts
  maximum_record_age_in_seconds  = -1

  dynamic "destination_config" {
    for_each = var.stream_source.on_failure_queue_arn == null ? [] : [var.stream_source.on_failure_queue_arn]
    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }
}
