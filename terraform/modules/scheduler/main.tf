data "aws_caller_identity" "current" {}

#### Schedule group: every one-time schedule of this workspace lives here ##########

resource "aws_scheduler_schedule_group" "this" {
  # <prefix>-schedules: every name of the workspace starts with "<prefix>-" (the local runner plays those).
  name = "${var.name_prefix}-schedules"
  tags = var.tags
}

#### Role EventBridge Scheduler assumes to deliver to the queues ###################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "send" {
  statement {
    sid       = "SendToTargetQueues"
    actions   = ["sqs:SendMessage"]
    resources = values(var.target_queue_arns)
  }
}

resource "aws_iam_role_policy" "send" {
  name   = "${var.name_prefix}-scheduler-send"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.send.json
}

#### Recurring sweeps: a fixed step delivered to a queue on a schedule ######################

resource "aws_scheduler_schedule" "recurring" {
  #checkov:skip=CKV_AWS_297:The schedule's input is a step name for a queue (no personal data, no secret); EventBridge Scheduler encrypts it at rest with an AWS-owned key
  for_each = var.recurring

  name                         = "${var.name_prefix}-${each.key}"
  group_name                   = aws_scheduler_schedule_group.this.name
  schedule_expression          = each.value.expression
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.target_queue_arns[each.value.target]
    role_arn = aws_iam_role.this.arn
    input    = each.value.input
  }
}
