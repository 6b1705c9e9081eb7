# Offline: the provider is mocked, so these check the module's own wiring and validations.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name            = "ecobid-test-images"
  alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ecobid-test-admin-alerts"
}

run "queue_redrives_to_its_own_dlq" {
  command = apply

  variables {
    max_receive_count = 3
  }

  assert {
    condition     = aws_sqs_queue.dlq.name == "ecobid-test-images-dlq"
    error_message = "The DLQ is named after its queue."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn
    error_message = "The queue's redrive policy targets its DLQ."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).maxReceiveCount == 3
    error_message = "maxReceiveCount comes from the variable."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq.redrive_allow_policy).sourceQueueArns == [aws_sqs_queue.this.arn]
    error_message = "Only the source queue may redrive into the DLQ."
  }
  assert {
    condition     = aws_sqs_queue.this.sqs_managed_sse_enabled && aws_sqs_queue.dlq.sqs_managed_sse_enabled
    error_message = "Both queues are encrypted at rest."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_depth.dimensions.QueueName == "ecobid-test-images-dlq" && aws_cloudwatch_metric_alarm.dlq_depth.alarm_actions == toset([var.alarm_topic_arn])
    error_message = "The DLQ-depth alarm watches the DLQ and notifies the admin topic."
  }
  assert {
    condition     = length(aws_sqs_queue_policy.this) == 0
    error_message = "No queue policy without allowed senders."
  }
}

run "allowed_senders_get_a_queue_policy" {
  command = plan

  variables {
    allowed_senders = [{ service = "events.amazonaws.com", source_arns = ["arn:aws:events:eu-west-1:123456789012:rule/ecobid-test/*"] }]
  }

  assert {
    condition     = length(aws_sqs_queue_policy.this) == 1
    error_message = "A queue policy lets the allowed senders in."
  }
}

run "max_receive_count_is_validated" {
  command = plan

  variables {
    max_receive_count = 0
  }

  expect_failures = [var.max_receive_count]
}

run "visibility_timeout_is_validated" {
  command = plan

  variables {
    visibility_timeout_seconds = 50000
  }

  expect_failures = [var.visibility_timeout_seconds]
}
