# Offline: the provider is mocked, so these check the module's own wiring, validations and precondition.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  name            = "ecobid-test-images-worker"
  artifact_path   = "tests/fixtures/function.zip"
  timeout_seconds = 30
  sqs_source = {
    queue_arn                = "arn:aws:sqs:eu-west-1:123456789012:ecobid-test-images"
    queue_visibility_timeout = 180
    dlq_arn                  = "arn:aws:sqs:eu-west-1:123456789012:ecobid-test-images-dlq"
    batch_size               = 5
    batching_window_seconds  = 1
    maximum_concurrency      = 3
    enabled                  = false
  }
}

run "sqs_worker_reports_partial_batch_failures" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.sqs[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The SQS mapping reports batch item failures."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.sqs[0].batch_size == 5 && aws_lambda_event_source_mapping.sqs[0].maximum_batching_window_in_seconds == 1 && aws_lambda_event_source_mapping.sqs[0].scaling_config[0].maximum_concurrency == 3
    error_message = "Batch size, window and concurrency come from sqs_source."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.sqs[0].enabled == false
    error_message = "The enabled switch reaches the mapping."
  }
  assert {
    condition     = aws_lambda_function.this.runtime == "provided.al2023" && aws_lambda_function.this.architectures == tolist(["x86_64"])
    error_message = "provided.al2023 on the chosen architecture."
  }
  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_format == "JSON" && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "JSON logs and active X-Ray tracing."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/ecobid-test-images-worker" && aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "The function logs to its own group with retention."
  }
  assert {
    condition     = length(aws_lambda_event_source_mapping.stream) == 0
    error_message = "No stream mapping without a stream source."
  }
}

run "visibility_below_six_timeouts_fails_the_plan" {
  command = plan

  variables {
    timeout_seconds = 31
  }

  expect_failures = [aws_lambda_event_source_mapping.sqs]
}

run "stream_worker_never_skips_records" {
  command = plan

  variables {
    sqs_source = null
    stream_source = {
      stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/ecobid-test-table/stream/2026-01-01T00:00:00.000"
    }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream[0].maximum_retry_attempts == -1 && aws_lambda_event_source_mapping.stream[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "Failed stream batches are retried, never skipped, and reported per record."
  }
}

run "wildcard_actions_are_refused" {
  command = plan

  variables {
    policy_statements = [{ sid = "Everything", actions = ["dynamodb:*"], resources = ["arn:aws:dynamodb:eu-west-1:123456789012:table/x"] }]
  }

  expect_failures = [var.policy_statements]
}

run "architecture_is_validated" {
  command = plan

  variables {
    architecture = "sparc"
  }

  expect_failures = [var.architecture]
}
