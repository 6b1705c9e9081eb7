# Offline: the provider is mocked, so these check the alarms' wiring and math, and the variables' validations.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  name_prefix       = "ecobid-test"
  metrics_namespace = "EcoBid/test"
  worker_functions = {
    "images worker"    = "ecobid-test-images-worker"
    "stream publisher" = "ecobid-test-stream-publisher"
  }
  lambda_functions = {
    "images worker"    = "ecobid-test-images-worker"
    "stream publisher" = "ecobid-test-stream-publisher"
    "api"              = "ecobid-test-api"
  }
  stream_function_name = "ecobid-test-stream-publisher"
  api_id               = "a1b2c3"
  api_function_name    = "ecobid-test-api"
  table_name           = "ecobid-test-table"
  dlq_names            = ["ecobid-test-images-dlq"]
  dlq_alarm_arns       = ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:ecobid-test-images-dlq-not-empty"]
  alarm_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:ecobid-test-admin-alerts"
}

run "every_worker_alarms_on_its_error_rate_above_one_percent" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.worker_error_rate) == 2
    error_message = "One error-rate alarm per worker function."
  }
  assert {
    condition = alltrue([for fn, a in aws_cloudwatch_metric_alarm.worker_error_rate :
    a.threshold == 1 && a.comparison_operator == "GreaterThanThreshold" && a.alarm_actions == toset([var.alarm_topic_arn])])
    error_message = "Worker alarms fire above 1 % and notify the admin topic."
  }
  assert {
    condition = alltrue([for q in aws_cloudwatch_metric_alarm.worker_error_rate["images worker"].metric_query :
    q.expression == "" || q.expression == null || can(regex("processed|transient|permanent|handled", q.expression))])
    error_message = "The rate is computed from the worker metrics."
  }
  assert {
    condition = toset([for q in aws_cloudwatch_metric_alarm.worker_error_rate["images worker"].metric_query :
    one(q.metric[*].metric_name) if length(q.metric) > 0]) == toset(["MessagesProcessed", "MessagesFailedTransient", "MessagesFailedPermanent"])
    error_message = "The worker alarm reads the three outcome counters."
  }
  assert {
    condition = alltrue([for q in aws_cloudwatch_metric_alarm.worker_error_rate["images worker"].metric_query :
    one(q.metric[*].dimensions.FunctionName) == "ecobid-test-images-worker" && one(q.metric[*].namespace) == "EcoBid/test" if length(q.metric) > 0])
    error_message = "The worker alarm selects its function in the workspace's namespace."
  }
  assert {
    condition     = length([for q in aws_cloudwatch_metric_alarm.worker_error_rate["images worker"].metric_query : q if q.return_data == true]) == 1
    error_message = "Exactly one query (the rate) is the alarm's value."
  }
}

run "api_alarms_on_5xx_above_half_a_percent_and_table_on_any_throttle" {
  command = plan

  assert {
    condition     = aws_cloudwatch_metric_alarm.api_5xx_rate.threshold == 0.5 && aws_cloudwatch_metric_alarm.api_5xx_rate.alarm_actions == toset([var.alarm_topic_arn])
    error_message = "The API alarm fires above 0.5 % and notifies the admin topic."
  }
  assert {
    condition = toset([for q in aws_cloudwatch_metric_alarm.api_5xx_rate.metric_query :
    one(q.metric[*].metric_name) if length(q.metric) > 0]) == toset(["Requests", "Status5xx"])
    error_message = "The API alarm divides 5xx by requests."
  }
  assert {
    condition = aws_cloudwatch_metric_alarm.table_throttles.threshold == 0 && toset([for q in aws_cloudwatch_metric_alarm.table_throttles.metric_query :
    one(q.metric[*].metric_name) if length(q.metric) > 0]) == toset(["ReadThrottleEvents", "WriteThrottleEvents"])
    error_message = "The table alarm fires on any read or write throttle."
  }
}

run "dashboard_shows_the_alarms_dlqs_and_durations" {
  # The body holds the alarms' ARNs, known after apply (mocked).
  command = apply

  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "ecobid-test-images-dlq") && strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "MessageDuration")
    error_message = "The dashboard shows the DLQs and the worker durations."
  }
  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[0].properties.alarms) == 2 + 2 + 2 + 3 + 3 + 1
    error_message = "The alarm widget shows every alarm: the workers', the API's, the table's, the gateway's, the stream's, each function's and the DLQs'."
  }
}

run "namespace_must_not_be_an_aws_one" {
  command = plan

  variables {
    metrics_namespace = "AWS/Lambda"
  }

  expect_failures = [var.metrics_namespace]
}

run "every_function_alarms_on_what_lambda_measures_and_the_stream_on_its_age" {
  command = plan

  assert {
    condition = alltrue([for k, fn in var.lambda_functions :
      aws_cloudwatch_metric_alarm.lambda_errors[k].metric_name == "Errors" && aws_cloudwatch_metric_alarm.lambda_errors[k].namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.lambda_errors[k].dimensions.FunctionName == fn && aws_cloudwatch_metric_alarm.lambda_errors[k].threshold == 0 &&
    aws_cloudwatch_metric_alarm.lambda_throttles[k].metric_name == "Throttles" && aws_cloudwatch_metric_alarm.lambda_throttles[k].dimensions.FunctionName == fn])
    error_message = "Every function has an Errors and a Throttles alarm on AWS/Lambda, firing on any."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.stream_iterator_age.metric_name == "IteratorAge" && aws_cloudwatch_metric_alarm.stream_iterator_age.threshold == 300000 && aws_cloudwatch_metric_alarm.stream_iterator_age.statistic == "Maximum"
    error_message = "The stream mapping alarms when its newest record read is over 5 minutes old (milliseconds)."
  }
  assert {
    condition = toset([for q in aws_cloudwatch_metric_alarm.gateway_5xx_rate.metric_query :
    one(q.metric[*].metric_name) if length(q.metric) > 0]) == toset(["Count", "5xx"])
    error_message = "API Gateway's own 5xx rate alarms (it counts what the function never answered)."
  }
}
