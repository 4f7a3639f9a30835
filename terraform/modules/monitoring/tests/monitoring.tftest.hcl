# Applies the module against a mocked AWS provider and checks the alarms, topics and dashboard.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }
  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }
  # The provider validates topic ARNs; give each priority's topic its own real-looking one.
  override_resource {
    target = aws_sns_topic.this["P1"]
    values = { arn = "arn:aws:sns:us-east-1:123456789012:snowplow-alarms-P1" }
  }
  override_resource {
    target = aws_sns_topic.this["P2"]
    values = { arn = "arn:aws:sns:us-east-1:123456789012:snowplow-alarms-P2" }
  }
  override_resource {
    target = aws_sns_topic.this["P3"]
    values = { arn = "arn:aws:sns:us-east-1:123456789012:snowplow-alarms-P3" }
  }
}

variables {
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  collector = {
    load_balancer_arn_suffix = "app/example-collector/0123456789abcdef"
    target_group_arn_suffix  = "targetgroup/example-collector/fedcba9876543210"
    autoscaling_group_name   = "example-collector-asg"
  }
  enricher = {
    autoscaling_group_name = "example-enricher-asg"
    lease_table_name       = "example-enrich-leases"
  }
  streams = {
    raw_good      = "example-raw-good"
    raw_bad       = "example-raw-bad"
    enriched_good = "example-enriched-good"
    enriched_bad  = "example-enriched-bad"
  }
  delivery_streams = {
    enriched_good = "example-enriched-good-to-s3"
    enriched_bad  = "example-enriched-bad-to-s3"
    raw_bad       = "example-raw-bad-to-s3"
  }
  functions = {
    enriched = "example-pseudonymize-enriched"
    bad_rows = "example-pseudonymize-bad-rows"
  }
  pseudonymization_metrics = { namespace = "ExamplePseudonymization" }
  # What the pseudonymization-lambda module's alarm_names output gives.
  additional_alarm_names = [
    "example-pseudonymize-enriched-errors_P2",
    "example-pseudonymize-enriched-throttles_P2",
    "example-pseudonymize-enriched-duration_P2",
    "example-pseudonymize-bad-rows-errors_P2",
    "example-pseudonymize-bad-rows-throttles_P2",
    "example-pseudonymize-bad-rows-duration_P2",
  ]
  subscriptions = {
    P1 = { https = ["https://events.pagerduty.com/integration/EXAMPLEKEY/enqueue"] }
    P3 = { email = ["data-platform@example.com", "oncall@example.com"] }
  }
}

run "every_alarm_carries_its_priority_and_reaches_that_priority_topic" {
  assert {
    condition = toset(values(output.alarm_names)) == toset([
      "snowplow-collector-no-healthy-hosts_P1",
      "snowplow-collector-unhealthy-hosts_P2",
      "snowplow-collector-5xx-rate_P2",
      "snowplow-enrichment-stalled_P1",
      "snowplow-enrichment-lagging_P2",
      "snowplow-delivery-stalled_P2",
      "snowplow-good-events-low_P2",
      "snowplow-bad-to-good-ratio_P3",
      "snowplow-enriched-good-delivery-freshness_P2",
      "snowplow-enriched-bad-delivery-freshness_P2",
      "snowplow-raw-bad-delivery-freshness_P2",
      "snowplow-enriched-good-delivery-failing_P2",
      "snowplow-enriched-bad-delivery-failing_P2",
      "snowplow-raw-bad-delivery-failing_P2",
      "snowplow-enriched-processing-failed_P3",
      "snowplow-bad-rows-processing-failed_P3",
      "snowplow-enriched-response-near-cap_P3",
      "snowplow-bad-rows-response-near-cap_P3",
    ])
    error_message = "The alarm set is not the documented one (docs/alarms.md)."
  }
  assert {
    # The priority is the name's suffix; the alarm must notify that priority's topic.
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      a.alarm_actions == toset([aws_sns_topic.this[regex("_(P[123])$", a.alarm_name)[0]].arn]) &&
      a.ok_actions == toset([aws_sns_topic.this[regex("_(P[123])$", a.alarm_name)[0]].arn])
    ])
    error_message = "Each alarm must notify (in ALARM and OK) the topic of the priority its name ends with."
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : strcontains(a.alarm_description, "Runbook: docs/alarms.md#")])
    error_message = "Each alarm's description must point at its runbook section."
  }
  assert {
    # The pseudonymization-lambda module alarms on these; a second alarm here would page twice.
    condition = alltrue(flatten([
      for a in aws_cloudwatch_metric_alarm.this : [for q in a.metric_query : [for m in q.metric : m.namespace != "AWS/Lambda"]]
    ]))
    error_message = "No alarm of this module may watch an AWS/Lambda metric: the pseudonymization-lambda module owns the functions' Errors, Throttles and Duration alarms."
  }
}

run "alarms_watch_the_right_metrics_with_the_documented_defaults" {
  assert {
    # The target group checks /sink-health: an unhealthy host is a collector that cannot write
    # to Kinesis, which the fleet does not replace (EC2 health checks), so it must be said.
    condition = (
      one(aws_cloudwatch_metric_alarm.this["collector-unhealthy-hosts"].metric_query).metric[0].metric_name == "UnHealthyHostCount" &&
      one(aws_cloudwatch_metric_alarm.this["collector-unhealthy-hosts"].metric_query).metric[0].dimensions.TargetGroup == var.collector.target_group_arn_suffix &&
      one(aws_cloudwatch_metric_alarm.this["collector-unhealthy-hosts"].metric_query).metric[0].stat == "Maximum" &&
      aws_cloudwatch_metric_alarm.this["collector-unhealthy-hosts"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["collector-unhealthy-hosts"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this["collector-unhealthy-hosts"].evaluation_periods == 5
    )
    error_message = "collector-unhealthy-hosts must fire when any collector target fails its health check for 5 minutes."
  }
  assert {
    condition = (
      one(aws_cloudwatch_metric_alarm.this["enrichment-stalled"].metric_query).metric[0].dimensions.StreamName == "example-raw-good" &&
      one(aws_cloudwatch_metric_alarm.this["enrichment-stalled"].metric_query).metric[0].metric_name == "GetRecords.IteratorAgeMilliseconds" &&
      aws_cloudwatch_metric_alarm.this["enrichment-stalled"].threshold == 3600000 &&
      aws_cloudwatch_metric_alarm.this["enrichment-lagging"].threshold == 900000 &&
      aws_cloudwatch_metric_alarm.this["enrichment-stalled"].treat_missing_data == "breaching"
    )
    error_message = "Enrichment alarms must watch raw-good's iterator age (1 h for P1, 15 min for P2) and treat silence as stalled."
  }
  assert {
    condition = (
      one(aws_cloudwatch_metric_alarm.this["delivery-stalled"].metric_query).metric[0].dimensions.StreamName == "example-enriched-good" &&
      one(aws_cloudwatch_metric_alarm.this["good-events-low"].metric_query).metric[0].dimensions.StreamName == "example-enriched-good" &&
      aws_cloudwatch_metric_alarm.this["good-events-low"].treat_missing_data == "breaching" &&
      aws_cloudwatch_metric_alarm.this["good-events-low"].comparison_operator == "LessThanThreshold"
    )
    error_message = "Delivery-stalled and low-volume alarms must watch enriched-good; no data must count as low volume."
  }
  assert {
    condition = (
      one(aws_cloudwatch_metric_alarm.this["raw-bad-delivery-failing"].metric_query).metric[0].metric_name == "DeliveryToS3.Success" &&
      one(aws_cloudwatch_metric_alarm.this["raw-bad-delivery-failing"].metric_query).metric[0].dimensions.DeliveryStreamName == "example-raw-bad-to-s3" &&
      aws_cloudwatch_metric_alarm.this["raw-bad-delivery-failing"].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["raw-bad-delivery-failing"].threshold == 1 &&
      one(aws_cloudwatch_metric_alarm.this["enriched-good-delivery-freshness"].metric_query).metric[0].metric_name == "DeliveryToS3.DataFreshness"
    )
    error_message = "Firehose alarms must watch DeliveryToS3.Success < 1 and DeliveryToS3.DataFreshness per delivery stream."
  }
  assert {
    condition = (
      one(aws_cloudwatch_metric_alarm.this["bad-rows-processing-failed"].metric_query).metric[0].namespace == "ExamplePseudonymization" &&
      one(aws_cloudwatch_metric_alarm.this["bad-rows-processing-failed"].metric_query).metric[0].metric_name == "RecordsProcessingFailed" &&
      one(aws_cloudwatch_metric_alarm.this["bad-rows-processing-failed"].metric_query).metric[0].dimensions.FunctionName == "example-pseudonymize-bad-rows" &&
      aws_cloudwatch_metric_alarm.this["bad-rows-processing-failed"].threshold == 0
    )
    error_message = "Any ProcessingFailed record must alarm, read from the Lambda's EMF metric (docs/pseudonymization.md)."
  }
}

run "rate_alarms_are_metric_math_returning_one_series" {
  assert {
    condition = alltrue([
      for k in ["collector-5xx-rate", "bad-to-good-ratio"] :
      length([for q in aws_cloudwatch_metric_alarm.this[k].metric_query : q if q.return_data]) == 1 &&
      one([for q in aws_cloudwatch_metric_alarm.this[k].metric_query : q.expression if q.return_data]) != null
    ])
    error_message = "Rate alarms must return exactly one series, their expression."
  }
  assert {
    condition = toset([
      for q in aws_cloudwatch_metric_alarm.this["bad-to-good-ratio"].metric_query : q.metric[0].dimensions.StreamName if !q.return_data
    ]) == toset(["example-enriched-good", "example-raw-bad", "example-enriched-bad"])
    error_message = "The bad-to-good ratio must compare both bad streams with enriched-good."
  }
  assert {
    condition = toset([
      for q in aws_cloudwatch_metric_alarm.this["collector-5xx-rate"].metric_query : q.metric[0].metric_name if !q.return_data
    ]) == toset(["RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"])
    error_message = "The collector 5XX rate must count the load balancer's and the targets' 5XX against all requests."
  }
}

run "topics_are_encrypted_with_the_given_key_and_cloudwatch_may_publish" {
  assert {
    condition     = length(aws_sns_topic.this) == 3 && alltrue([for t in aws_sns_topic.this : t.kms_master_key_id == var.kms_key_arn])
    error_message = "Each of the three priority topics must be encrypted with the given KMS key."
  }
  assert {
    condition = alltrue([
      for p in aws_sns_topic_policy.this : length([
        for s in jsondecode(p.policy).Statement : s
        if s.Effect == "Allow" && try(s.Principal.Service, "") == "cloudwatch.amazonaws.com" && s.Action == "sns:Publish"
      ]) == 1
    ])
    error_message = "Each topic policy must let this account's CloudWatch alarms publish."
  }
  assert {
    condition     = alltrue([for p in aws_sns_topic_policy.this : contains([for s in jsondecode(p.policy).Statement : s.Sid if s.Effect == "Deny"], "DenyPublishWithoutTls")])
    error_message = "Each topic policy must refuse publishing without TLS."
  }
}

run "subscribers_are_attached_to_their_priority" {
  assert {
    condition     = length(aws_sns_topic_subscription.this) == 3
    error_message = "One subscription per configured endpoint."
  }
  assert {
    condition = (
      aws_sns_topic_subscription.this["P1-https-0"].protocol == "https" &&
      aws_sns_topic_subscription.this["P1-https-0"].topic_arn == aws_sns_topic.this["P1"].arn &&
      aws_sns_topic_subscription.this["P3-email-1"].protocol == "email" &&
      aws_sns_topic_subscription.this["P3-email-1"].topic_arn == aws_sns_topic.this["P3"].arn
    )
    error_message = "Subscriptions must use their protocol and their priority's topic."
  }
}

run "dashboard_is_valid_json_and_shows_every_resource_it_was_given" {
  command = plan

  assert {
    condition     = aws_cloudwatch_dashboard.this.dashboard_name == "SnowPlow"
    error_message = "The dashboard must be named SnowPlow."
  }
  assert {
    condition     = can(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets)
    error_message = "The dashboard body must be valid JSON with a widgets list."
  }
  assert {
    # Every string on a metric line of any graph, then every name the module was given.
    condition = alltrue([
      for name in concat(
        values(var.streams), values(var.delivery_streams), values(var.functions),
        [var.collector.load_balancer_arn_suffix, var.collector.target_group_arn_suffix, var.collector.autoscaling_group_name],
        [var.enricher.autoscaling_group_name, var.enricher.lease_table_name],
      ) :
      contains([
        for v in flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : try(w.properties.metrics, [])]) :
        v if can(tostring(v))
      ], name)
    ])
    error_message = "The dashboard must graph every stream, delivery stream, function, load balancer, group and table it was given."
  }
  assert {
    condition = toset([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.markdown if w.type == "text"
      ]) == toset([
      "### Collector: load balancer app/example-collector/0123456789abcdef, fleet example-collector-asg",
      "### Kinesis stream example-raw-good",
      "### Kinesis stream example-raw-bad",
      "### Enricher: fleet example-enricher-asg, KCL lease table example-enrich-leases",
      "### Kinesis stream example-enriched-good",
      "### Kinesis stream example-enriched-bad",
      "### Firehose example-enriched-good-to-s3",
      "### Firehose example-enriched-bad-to-s3",
      "### Firehose example-raw-bad-to-s3",
      "### Pseudonymization Lambda example-pseudonymize-enriched",
      "### Pseudonymization Lambda example-pseudonymize-bad-rows",
    ])
    error_message = "The dashboard must have one titled row per stage: collector, each stream, enricher, each delivery stream, each function."
  }
  assert {
    condition = alltrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.x >= 0 && w.width > 0 && w.x + w.width <= 24
    ])
    error_message = "Every widget must fit CloudWatch's 24-column grid."
  }
  assert {
    condition = toset(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.alarms if w.type == "alarm"
    ])) == toset([for name in concat(values(output.alarm_names), var.additional_alarm_names) : "arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}"])
    error_message = "The alarm list on top must show every alarm: this module's and the additional ones (the Lambda's own)."
  }
  assert {
    condition     = length(one([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.alarms if w.type == "alarm"])) == length(output.alarm_names) + length(var.additional_alarm_names)
    error_message = "The alarm list must show each alarm once."
  }
  assert {
    condition = alltrue([
      for metric in ["HealthyHostCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "RequestCount", "TargetResponseTime",
        "IncomingRecords", "GetRecords.IteratorAgeMilliseconds", "WriteProvisionedThroughputExceeded",
        "CPUUtilization", "GroupInServiceInstances",
        "DeliveryToS3.Records", "DeliveryToS3.Success", "DeliveryToS3.DataFreshness", "ExecuteProcessing.Success",
        "Invocations", "Errors", "Duration", "Throttles", "ValuesPseudonymized", "RecordsProcessingFailed",
      "ProcessingFailedMalformedBase64", "ProcessingFailedMalformedUtf8", "ProcessingFailedWrongFieldCount", "ProcessingFailedUnparsableBadRow"] :
      contains(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [for line in try(w.properties.metrics, []) : line[1]]]), metric)
    ])
    error_message = "The dashboard must graph every metric the issue lists."
  }
}

run "a_custom_emf_namespace_reaches_the_alarms_and_the_dashboard" {
  command = plan

  variables {
    pseudonymization_metrics = { namespace = "Example/Pseudonymization" }
  }

  assert {
    condition     = one(aws_cloudwatch_metric_alarm.this["enriched-processing-failed"].metric_query).metric[0].namespace == "Example/Pseudonymization"
    error_message = "The ProcessingFailed alarm must read the namespace the function is configured with."
  }
  assert {
    condition     = contains(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [for line in try(w.properties.metrics, []) : line[0]]]), "Example/Pseudonymization")
    error_message = "The dashboard must read the namespace the function is configured with."
  }
}

run "a_namespace_reserved_for_aws_is_refused" {
  command = plan

  variables {
    pseudonymization_metrics = { namespace = "AWS/Lambda" }
  }

  expect_failures = [var.pseudonymization_metrics]
}

run "alarm_texts_link_the_runbook_at_its_web_address" {
  command = plan

  variables {
    runbook_base_url = "https://gitlab.example.com/analytics/snowplow-infra/-/blob/main/docs/alarms.md"
  }

  assert {
    condition = alltrue([
      for k, a in aws_cloudwatch_metric_alarm.this :
      endswith(a.alarm_description, " Runbook: https://gitlab.example.com/analytics/snowplow-infra/-/blob/main/docs/alarms.md#${local.alarms[k].runbook}")
    ])
    error_message = "With runbook_base_url, each alarm's description must end with a clickable link to its runbook section."
  }
}

run "the_longest_runbook_address_keeps_every_description_within_cloudwatchs_limit" {
  command = plan

  variables {
    runbook_base_url = "https://${join("", [for i in range(300) : "x"])}"
    streams = {
      raw_good      = join("", [for i in range(128) : "r"])
      raw_bad       = join("", [for i in range(128) : "s"])
      enriched_good = join("", [for i in range(128) : "e"])
      enriched_bad  = join("", [for i in range(128) : "f"])
    }
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : length(a.alarm_description) <= 1024])
    error_message = "An alarm description exceeds CloudWatch's 1024 characters with the longest runbook_base_url and stream names the inputs allow."
  }
}

run "a_runbook_address_with_a_fragment_is_refused" {
  command = plan

  variables {
    runbook_base_url = "https://gitlab.example.com/docs/alarms.md#top"
  }

  expect_failures = [var.runbook_base_url]
}

run "a_runbook_address_that_is_not_https_is_refused" {
  command = plan

  variables {
    runbook_base_url = "http://gitlab.example.com/docs/alarms.md"
  }

  expect_failures = [var.runbook_base_url]
}

run "a_null_threshold_takes_the_default" {
  command = plan

  variables {
    collector_5xx_rate_percent = null
    enrichment_lag_seconds     = null
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["collector-5xx-rate"].threshold == 5 && aws_cloudwatch_metric_alarm.this["enrichment-lagging"].threshold == 900000
    error_message = "A threshold passed as null (an environment's unset alarm_thresholds attribute) must take the module's default."
  }
}

run "streams_must_be_named_by_their_role" {
  command = plan

  variables {
    streams = { good = "a", bad = "b" }
  }

  expect_failures = [var.streams]
}

run "full_arns_are_refused_where_suffixes_are_needed" {
  command = plan

  variables {
    collector = {
      load_balancer_arn_suffix = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/example-collector/0123456789abcdef"
      target_group_arn_suffix  = "targetgroup/example-collector/fedcba9876543210"
      autoscaling_group_name   = "example-collector-asg"
    }
  }

  expect_failures = [var.collector]
}

run "a_freshness_threshold_inside_firehose_buffering_is_refused" {
  command = plan

  variables {
    delivery_freshness_seconds = 600
  }

  expect_failures = [var.delivery_freshness_seconds]
}

run "unknown_priorities_and_plain_http_endpoints_are_refused" {
  command = plan

  variables {
    subscriptions = { P4 = { https = ["http://example.com/hook"] } }
  }

  expect_failures = [var.subscriptions]
}

run "additional_alarms_without_a_priority_are_refused" {
  command = plan

  variables {
    additional_alarm_names = ["example-pseudonymize-enriched-errors"]
  }

  expect_failures = [var.additional_alarm_names]
}

run "the_aws_managed_sns_key_is_refused" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/aws/sns"
  }

  expect_failures = [var.kms_key_arn]
}
