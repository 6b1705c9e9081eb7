# The pipeline's alarms and dashboard, from the functions' EMF metrics (infra::metrics) and AWS's own.
# Rates are metric math with FILL(…, 0) and an IF on zero traffic, so a quiet period is OK, never INSUFFICIENT_DATA.

data "aws_region" "current" {}

locals {
  worker_metrics = {
    processed = "MessagesProcessed"
    transient = "MessagesFailedTransient"
    permanent = "MessagesFailedPermanent"
  }
}

#### Worker error rate: failed / handled > worker_error_rate_percent ###################

resource "aws_cloudwatch_metric_alarm" "worker_error_rate" {
  for_each = var.worker_functions

  alarm_name          = "${each.value}-error-rate"
  alarm_description   = "More than ${var.worker_error_rate_percent}% of ${each.value}'s messages failed over ${var.period_seconds / 60} min (transient failures retry; permanent ones are in the DLQ: ecobid-ops dlq list)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.worker_error_rate_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags

  dynamic "metric_query" {
    for_each = local.worker_metrics
    content {
      id = metric_query.key
      metric {
        namespace   = var.metrics_namespace
        metric_name = metric_query.value
        dimensions  = { FunctionName = each.value }
        period      = var.period_seconds
        stat        = "Sum"
      }
    }
  }
  metric_query {
    id         = "handled"
    expression = "FILL(processed, 0) + FILL(transient, 0) + FILL(permanent, 0)"
  }
  metric_query {
    id          = "error_rate"
    expression  = "IF(handled > 0, 100 * (FILL(transient, 0) + FILL(permanent, 0)) / handled, 0)"
    label       = "Error rate (%)"
    return_data = true
  }
}

#### API 5xx rate: 5xx / requests > api_5xx_rate_percent ##################################

resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${var.api_function_name}-5xx-rate"
  alarm_description   = "More than ${var.api_5xx_rate_percent}% of API requests answered 5xx over ${var.period_seconds / 60} min: see the API function's error logs."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags

  dynamic "metric_query" {
    for_each = { requests = "Requests", errors = "Status5xx" }
    content {
      id = metric_query.key
      metric {
        namespace   = var.metrics_namespace
        metric_name = metric_query.value
        dimensions  = { FunctionName = var.api_function_name }
        period      = var.period_seconds
        stat        = "Sum"
      }
    }
  }
  metric_query {
    id          = "rate_5xx"
    expression  = "IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / requests, 0)"
    label       = "5xx rate (%)"
    return_data = true
  }
}

#### DynamoDB throttles: any at all ########################################################

resource "aws_cloudwatch_metric_alarm" "table_throttles" {
  alarm_name          = "${var.table_name}-throttles"
  alarm_description   = "Requests to ${var.table_name} were throttled: check its capacity mode and hot keys."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags

  dynamic "metric_query" {
    for_each = { reads = "ReadThrottleEvents", writes = "WriteThrottleEvents" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = metric_query.value
        dimensions  = { TableName = var.table_name }
        period      = 60
        stat        = "Sum"
      }
    }
  }
  metric_query {
    id          = "throttles"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    label       = "Throttled requests"
    return_data = true
  }
}

#### What AWS measures itself: a crash, a timeout or a throttle writes no EMF line ############

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = var.lambda_functions

  alarm_name          = "${each.value}-errors"
  alarm_description   = "${each.value} failed invocations (AWS/Lambda Errors: a crash, a timeout, out of memory) over ${var.period_seconds / 60} min: see its log group for the REPORT line and the error."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each = var.lambda_functions

  alarm_name          = "${each.value}-throttles"
  alarm_description   = "${each.value} invocations were throttled (AWS/Lambda Throttles) over ${var.period_seconds / 60} min: the account's or the function's concurrency is exhausted."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  alarm_name          = "${var.stream_function_name}-iterator-age"
  alarm_description   = "The table stream's newest record read by ${var.stream_function_name} is over ${var.iterator_age_max_seconds} s old: the outbox is stalled (a record failing every try blocks its shard; records expire after 24 h)."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = var.stream_function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_max_seconds * 1000
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "gateway_5xx_rate" {
  alarm_name          = "${var.name_prefix}-http-api-5xx-rate"
  alarm_description   = "More than ${var.api_5xx_rate_percent}% of HTTP API requests answered 5xx as API Gateway counts them (including the function's timeouts and crashes) over ${var.period_seconds / 60} min."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags

  dynamic "metric_query" {
    for_each = { requests = "Count", errors = "5xx" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApiGateway"
        metric_name = metric_query.value
        dimensions  = { ApiId = var.api_id, Stage = var.api_stage }
        period      = var.period_seconds
        stat        = "Sum"
      }
    }
  }
  metric_query {
    id          = "rate_5xx"
    expression  = "IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / requests, 0)"
    label       = "5xx rate (%)"
    return_data = true
  }
}

#### Dashboard ###############################################################################

locals {
  region = data.aws_region.current.name
  worker_widgets = [for title, fn in var.worker_functions : {
    type = "metric", width = 12, height = 6
    properties = {
      title  = "${title}: messages"
      region = local.region
      stat   = "Sum"
      period = var.period_seconds
      metrics = [for m in ["MessagesProcessed", "MessagesFailedTransient", "MessagesFailedPermanent", "MessagesDeadLettered"] :
      [var.metrics_namespace, m, "FunctionName", fn]]
    }
  }]
  duration_widget = {
    type = "metric", width = 12, height = 6
    properties = {
      title  = "Worker message duration p99 (ms)"
      region = local.region
      stat   = "p99"
      period = var.period_seconds
      metrics = [for title, fn in var.worker_functions :
      [var.metrics_namespace, "MessageDuration", "FunctionName", fn, { label = title }]]
    }
  }
  api_widgets = [
    {
      type = "metric", width = 12, height = 6
      properties = {
        title   = "API: requests by status class"
        region  = local.region
        stat    = "Sum"
        period  = var.period_seconds
        metrics = [for m in ["Requests", "Status2xx", "Status3xx", "Status4xx", "Status5xx"] : [var.metrics_namespace, m, "FunctionName", var.api_function_name]]
      }
    },
    {
      type = "metric", width = 12, height = 6
      properties = {
        title  = "API: latency (ms)"
        region = local.region
        period = var.period_seconds
        metrics = [for s in ["p50", "p90", "p99"] :
        [var.metrics_namespace, "Latency", "FunctionName", var.api_function_name, { stat = s, label = s }]]
      }
    },
  ]
  queue_widgets = [
    {
      type = "metric", width = 12, height = 6
      properties = {
        title   = "Dead-letter queues: messages waiting"
        region  = local.region
        stat    = "Maximum"
        period  = 60
        metrics = [for q in var.dlq_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]]
      }
    },
    {
      type = "metric", width = 12, height = 6
      properties = {
        title  = "Table: throttled requests"
        region = local.region
        stat   = "Sum"
        period = 60
        metrics = [for m in ["ReadThrottleEvents", "WriteThrottleEvents"] :
        ["AWS/DynamoDB", m, "TableName", var.table_name]]
      }
    },
  ]
  alarm_widget = {
    type = "alarm", width = 24, height = 4
    properties = {
      title = "Alarms"
      alarms = concat(
        [for a in aws_cloudwatch_metric_alarm.worker_error_rate : a.arn],
        [aws_cloudwatch_metric_alarm.api_5xx_rate.arn, aws_cloudwatch_metric_alarm.table_throttles.arn],
        [aws_cloudwatch_metric_alarm.gateway_5xx_rate.arn, aws_cloudwatch_metric_alarm.stream_iterator_age.arn],
        [for a in aws_cloudwatch_metric_alarm.lambda_errors : a.arn],
        [for a in aws_cloudwatch_metric_alarm.lambda_throttles : a.arn],
        var.dlq_alarm_arns,
      )
    }
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = concat([local.alarm_widget], local.api_widgets, local.worker_widgets, [local.duration_widget], local.queue_widgets)
  })
}
