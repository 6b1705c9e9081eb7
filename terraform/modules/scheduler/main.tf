data "aws_caller_identity" "current" {}

#### Schedule group: every one-time schedule of this workspace lives here ##########

resource "aws_scheduler_schedule_group" "this" {
  name = var.name_prefix
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
