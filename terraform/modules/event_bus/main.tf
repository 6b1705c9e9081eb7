locals {
  # One target per (event type, queue).
  targets = merge([
    for type, route in var.routes : {
      for queue in route.targets : "${type}/${queue}" => { type = type, queue = queue }
    }
  ]...)
}

#### Bus and archive #############################################################

resource "aws_cloudwatch_event_bus" "this" {
  name = var.name_prefix
  tags = var.tags
}

resource "aws_cloudwatch_event_archive" "this" {
  name             = "${var.name_prefix}-events"
  description      = "Every event on ${aws_cloudwatch_event_bus.this.name}, for replay (ecobid-ops events replay)."
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}

#### Where undeliverable events go ##############################################

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "EventBridgeSendsUndeliverable"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${replace(aws_cloudwatch_event_bus.this.arn, ":event-bus/", ":rule/")}/*"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

# The outbox DLQ: the records the stream publisher can never publish (sent by the publisher, with why), and
# what its mapping gives up on after its retries (Lambda's record of each batch: its shard and sequence range;
# the records stay in the stream for 24 h). `ecobid-ops outbox list` shows both; `outbox replay` publishes.
resource "aws_sqs_queue" "outbox_dlq" {
  name                      = "${var.name_prefix}-outbox-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

locals {
  dead_letter_queues = {
    events = { name = aws_sqs_queue.dlq.name, why = "EventBridge could not deliver events to their queue: see ${aws_sqs_queue.dlq.name}." }
    outbox = { name = aws_sqs_queue.outbox_dlq.name, why = "The stream publisher gave up on outbox records (events not on the bus): ecobid-ops outbox list, then outbox replay within 24 h, while the stream still holds them." }
  }
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.dead_letter_queues

  alarm_name          = "${each.value.name}-not-empty"
  alarm_description   = each.value.why
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_depth
  to   = aws_cloudwatch_metric_alarm.dlq_depth["events"]
}

#### One rule per routed event type ###############################################

resource "aws_cloudwatch_event_rule" "this" {
  for_each = var.routes

  name           = "${var.name_prefix}-${each.key}"
  description    = "${each.key} events to: ${join(", ", each.value.targets)}."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern = jsonencode({
    source      = [each.value.source]
    detail-type = [each.key]
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.targets

  rule           = aws_cloudwatch_event_rule.this[each.value.type].name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = each.value.queue
  arn            = var.target_queues[each.value.queue]
  # The queue gets the versioned envelope itself (the event's detail), not EventBridge's wrapper.
  input_path = "$.detail"

  retry_policy {
    maximum_retry_attempts       = var.maximum_retry_attempts
    maximum_event_age_in_seconds = var.maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}
