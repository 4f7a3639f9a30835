data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  priorities = toset(["P1", "P2", "P3"])

  # CloudWatch dimensions, each built once from the inputs.
  load_balancer  = { LoadBalancer = var.collector.load_balancer_arn_suffix }
  target_group   = { LoadBalancer = var.collector.load_balancer_arn_suffix, TargetGroup = var.collector.target_group_arn_suffix }
  collector_asg  = { AutoScalingGroupName = var.collector.autoscaling_group_name }
  enricher_asg   = { AutoScalingGroupName = var.enricher.autoscaling_group_name }
  lease_table    = { TableName = var.enricher.lease_table_name }
  stream         = { for k, name in var.streams : k => { StreamName = name } }
  delivery       = { for k, name in var.delivery_streams : k => { DeliveryStreamName = name } }
  function       = { for k, name in var.functions : k => { FunctionName = name } }
  function_emf   = { for k, name in var.functions : k => { (var.pseudonymization_metrics.dimension) = name } }
  emf_namespace  = var.pseudonymization_metrics.namespace
  short_name     = { for k in concat(keys(var.delivery_streams), keys(var.functions)) : k => replace(k, "_", "-") }
  alarm_arn_stem = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:"
  runbook        = coalesce(var.runbook_base_url, "docs/alarms.md")
}

# --- Alarms --------------------------------------------------------------------------------------
#
# Every alarm is one entry below: its priority (P1 page now, P2 today, P3 next working day; see
# docs/alarms.md), its runbook section, and the metrics it reads. An alarm with an `expression`
# watches that metric-math expression over its metrics; otherwise it watches its only metric.
# The functions' AWS/Lambda metrics (Errors, Throttles, Duration) are alarmed by the
# pseudonymization-lambda module itself; its alarms only join the dashboard's alarm list
# (additional_alarm_names), so that one failure never raises two alarms.

locals {
  alarm_definitions = merge(
    {
      "collector-no-healthy-hosts" = {
        priority    = "P1"
        runbook     = "collector-no-healthy-hosts"
        description = "No collector instance passes the load balancer's health check: events from GitLab.com are refused and lost."
        comparison  = "LessThanThreshold"
        threshold   = 1
        periods     = 2
        missing     = "breaching"
        metrics = {
          healthy = { namespace = "AWS/ApplicationELB", name = "HealthyHostCount", dimensions = local.target_group, stat = "Minimum", period = 60 }
        }
      }
      "collector-unhealthy-hosts" = {
        priority    = "P2"
        runbook     = "collector-unhealthy-hosts"
        description = "A collector instance has failed the load balancer's /sink-health check for 5 minutes: it cannot write to Kinesis (KMS or IAM denial, throttling) or stopped answering. The load balancer routes around it; nothing replaces it."
        threshold   = 0
        periods     = 5
        metrics = {
          unhealthy = { namespace = "AWS/ApplicationELB", name = "UnHealthyHostCount", dimensions = local.target_group, stat = "Maximum", period = 60 }
        }
      }
      "collector-5xx-rate" = {
        priority    = "P2"
        runbook     = "collector-5xx-rate"
        description = "More than ${var.collector_5xx_rate_percent}% of the collector's requests got a 5XX from the load balancer or the collectors: those events are lost unless the tracker retries."
        threshold   = var.collector_5xx_rate_percent
        periods     = 5
        datapoints  = 3
        expression  = "100 * (FILL(elb_5xx, 0) + FILL(target_5xx, 0)) / requests"
        metrics = {
          requests   = { namespace = "AWS/ApplicationELB", name = "RequestCount", dimensions = local.load_balancer, stat = "Sum", period = 60 }
          elb_5xx    = { namespace = "AWS/ApplicationELB", name = "HTTPCode_ELB_5XX_Count", dimensions = local.load_balancer, stat = "Sum", period = 60 }
          target_5xx = { namespace = "AWS/ApplicationELB", name = "HTTPCode_Target_5XX_Count", dimensions = local.load_balancer, stat = "Sum", period = 60 }
        }
      }
      "enrichment-stalled" = {
        priority    = "P1"
        runbook     = "enrichment-stalled-and-enrichment-lagging"
        description = "Raw events have waited over ${var.enrichment_stalled_seconds} s in ${var.streams.raw_good}, or nobody reads it: enrichment has stalled, and the stream's retention is running out."
        threshold   = var.enrichment_stalled_seconds * 1000
        periods     = 5
        missing     = "breaching"
        metrics = {
          age = { namespace = "AWS/Kinesis", name = "GetRecords.IteratorAgeMilliseconds", dimensions = local.stream.raw_good, stat = "Maximum", period = 60 }
        }
      }
      "enrichment-lagging" = {
        priority    = "P2"
        runbook     = "enrichment-stalled-and-enrichment-lagging"
        description = "Raw events have waited over ${var.enrichment_lag_seconds} s in ${var.streams.raw_good}, or nobody reads it: the enricher is falling behind."
        threshold   = var.enrichment_lag_seconds * 1000
        periods     = 5
        missing     = "breaching"
        metrics = {
          age = { namespace = "AWS/Kinesis", name = "GetRecords.IteratorAgeMilliseconds", dimensions = local.stream.raw_good, stat = "Maximum", period = 60 }
        }
      }
      "delivery-stalled" = {
        priority    = "P2"
        runbook     = "delivery-stalled"
        description = "Enriched events have waited over ${var.delivery_lag_seconds} s in ${var.streams.enriched_good}, or nobody reads it: Firehose delivery to S3 has stalled."
        threshold   = var.delivery_lag_seconds * 1000
        periods     = 5
        missing     = "breaching"
        metrics = {
          age = { namespace = "AWS/Kinesis", name = "GetRecords.IteratorAgeMilliseconds", dimensions = local.stream.enriched_good, stat = "Maximum", period = 60 }
        }
      }
      "good-events-low" = {
        priority    = "P2"
        runbook     = "good-events-low"
        description = "Fewer than ${var.low_good_events_threshold} good events per 15 minutes reached ${var.streams.enriched_good} for 30 minutes, or none were reported: traffic has unexpectedly dropped."
        comparison  = "LessThanThreshold"
        threshold   = var.low_good_events_threshold
        periods     = 2
        missing     = "breaching"
        metrics = {
          events = { namespace = "AWS/Kinesis", name = "IncomingRecords", dimensions = local.stream.enriched_good, stat = "Sum", period = 900 }
        }
      }
      "bad-to-good-ratio" = {
        priority    = "P3"
        runbook     = "bad-to-good-ratio"
        description = "Bad rows (${var.streams.raw_bad} plus ${var.streams.enriched_bad}) exceeded ${var.bad_to_good_ratio_percent}% of good events for an hour: trackers or schemas are producing invalid events."
        threshold   = var.bad_to_good_ratio_percent
        periods     = 4
        expression  = "100 * (FILL(raw_bad, 0) + FILL(enriched_bad, 0)) / good"
        metrics = {
          good         = { namespace = "AWS/Kinesis", name = "IncomingRecords", dimensions = local.stream.enriched_good, stat = "Sum", period = 900 }
          raw_bad      = { namespace = "AWS/Kinesis", name = "IncomingRecords", dimensions = local.stream.raw_bad, stat = "Sum", period = 900 }
          enriched_bad = { namespace = "AWS/Kinesis", name = "IncomingRecords", dimensions = local.stream.enriched_bad, stat = "Sum", period = 900 }
        }
      }
    },
    { for k, name in var.delivery_streams : "${local.short_name[k]}-delivery-freshness" => {
      priority    = "P2"
      runbook     = "delivery-freshness"
      description = "The oldest record in Firehose ${name} has waited over ${var.delivery_freshness_seconds} s to reach S3 for 15 minutes: delivery is failing or falling behind."
      threshold   = var.delivery_freshness_seconds
      periods     = 3
      metrics = {
        freshness = { namespace = "AWS/Firehose", name = "DeliveryToS3.DataFreshness", dimensions = local.delivery[k], stat = "Maximum", period = 300 }
      }
    } },
    { for k, name in var.delivery_streams : "${local.short_name[k]}-delivery-failing" => {
      priority    = "P2"
      runbook     = "delivery-failing"
      description = "Firehose ${name} failed some of its S3 writes in each of 3 consecutive 5-minute periods (DeliveryToS3.Success < 1): it is retrying, and gives up after its retry window."
      comparison  = "LessThanThreshold"
      threshold   = 1
      periods     = 3
      metrics = {
        success = { namespace = "AWS/Firehose", name = "DeliveryToS3.Success", dimensions = local.delivery[k], stat = "Average", period = 300 }
      }
    } },
    { for k, name in var.functions : "${local.short_name[k]}-processing-failed" => {
      priority    = "P3"
      runbook     = "processing-failed"
      description = "Pseudonymization function ${name} marked records ProcessingFailed (malformed input): they sit, unpseudonymized, under the delivery stream's error prefix."
      threshold   = 0
      metrics = {
        failed = { namespace = local.emf_namespace, name = var.pseudonymization_metrics.records_failed, dimensions = local.function_emf[k], stat = "Sum", period = 300 }
      }
    } },
    { for k, name in var.functions : "${local.short_name[k]}-response-near-cap" => {
      priority    = "P3"
      runbook     = "response-near-cap"
      description = "A response of pseudonymization function ${name} exceeded ${var.lambda_response_bytes_threshold} bytes, close to Lambda's 6 291 456-byte cap: lower the Firehose processor buffer before whole batches fail."
      threshold   = var.lambda_response_bytes_threshold
      metrics = {
        bytes = { namespace = local.emf_namespace, name = var.pseudonymization_metrics.response_bytes, dimensions = local.function_emf[k], stat = "Maximum", period = 900 }
      }
    } },
  )

  # Each entry states only what differs from these defaults: alarm above the threshold, one
  # period, every datapoint breaching, silence is fine, no expression.
  alarms = { for k, a in local.alarm_definitions : k => {
    priority    = a.priority
    runbook     = a.runbook
    description = a.description
    threshold   = a.threshold
    metrics     = a.metrics
    comparison  = try(a.comparison, "GreaterThanThreshold")
    periods     = try(a.periods, 1)
    datapoints  = try(a.datapoints, try(a.periods, 1))
    missing     = try(a.missing, "notBreaching")
    expression  = try(a.expression, null)
  } }

  alarm_names = { for k, a in local.alarms : k => "${var.name_prefix}-${k}_${a.priority}" }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = local.alarm_names[each.key]
  alarm_description   = "${each.value.priority}: ${each.value.description} Runbook: ${local.runbook}#${each.value.runbook}"
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.datapoints
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.this[each.value.priority].arn]
  ok_actions          = [aws_sns_topic.this[each.value.priority].arn]

  dynamic "metric_query" {
    for_each = each.value.metrics
    content {
      id          = metric_query.key
      return_data = each.value.expression == null
      metric {
        namespace   = metric_query.value.namespace
        metric_name = metric_query.value.name
        dimensions  = metric_query.value.dimensions
        stat        = metric_query.value.stat
        period      = metric_query.value.period
      }
    }
  }

  dynamic "metric_query" {
    for_each = each.value.expression == null ? [] : [each.value.expression]
    content {
      id          = "alarm"
      expression  = metric_query.value
      label       = each.key
      return_data = true
    }
  }
}

# --- Where alarms go: one KMS-encrypted SNS topic per priority ---------------------------------
#
# The key comes from the caller (kms_key_arn); its policy must let CloudWatch alarms use it.

resource "aws_sns_topic" "this" {
  for_each = local.priorities

  name              = "${var.name_prefix}-alarms-${each.key}"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_policy" "this" {
  for_each = local.priorities

  arn    = aws_sns_topic.this[each.key].arn
  policy = local.topic_policies[each.key]
}

locals {
  topic_policies = { for p in local.priorities : p => jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountManagesTopic"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action = [
          "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
          "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish",
        ]
        Resource = aws_sns_topic.this[p].arn
      },
      {
        Sid       = "CloudWatchAlarmsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.this[p].arn
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
      {
        Sid       = "DenyPublishWithoutTls"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.this[p].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  }) }

  # One entry per subscriber; the keys (priority, protocol, position) reveal no endpoint, so they
  # may be shown in plans while the endpoints themselves stay sensitive.
  subscriptions = { for s in flatten([
    for priority, targets in var.subscriptions : concat(
      [for i, address in targets.email : { key = "${priority}-email-${i}", priority = priority, protocol = "email", endpoint = address }],
      [for i, url in targets.https : { key = "${priority}-https-${i}", priority = priority, protocol = "https", endpoint = url }],
    )
  ]) : s.key => s }
}

resource "aws_sns_topic_subscription" "this" {
  for_each = nonsensitive(toset(keys(local.subscriptions)))

  topic_arn = aws_sns_topic.this[local.subscriptions[each.key].priority].arn
  protocol  = local.subscriptions[each.key].protocol
  endpoint  = local.subscriptions[each.key].endpoint
}

# --- The dashboard: one row per stage, in the order events flow -----------------------------------
#
# A row is a title and its graphs; a graph is a title and its lines; a line is one metric with its
# statistic. Everything is built from the inputs, so no stream, function or group name is typed
# here.

locals {
  stream_rows = { for k, name in var.streams : k => {
    title = "Kinesis stream ${name}"
    graphs = [
      { title = "Incoming records", lines = [
        { namespace = "AWS/Kinesis", name = "IncomingRecords", dimensions = local.stream[k], stat = "Sum", label = "records" },
      ] },
      { title = "Iterator age (ms): how long the oldest unread record has waited", lines = [
        { namespace = "AWS/Kinesis", name = "GetRecords.IteratorAgeMilliseconds", dimensions = local.stream[k], stat = "Maximum", label = "maximum" },
      ] },
      { title = "Throttled writes and reads", lines = [
        { namespace = "AWS/Kinesis", name = "WriteProvisionedThroughputExceeded", dimensions = local.stream[k], stat = "Sum", label = "writes throttled" },
        { namespace = "AWS/Kinesis", name = "ReadProvisionedThroughputExceeded", dimensions = local.stream[k], stat = "Sum", label = "reads throttled" },
      ] },
    ]
  } }

  rows = concat(
    [{
      title = "Collector: load balancer ${var.collector.load_balancer_arn_suffix}, fleet ${var.collector.autoscaling_group_name}"
      graphs = [
        { title = "Requests", lines = [
          { namespace = "AWS/ApplicationELB", name = "RequestCount", dimensions = local.load_balancer, stat = "Sum", label = "requests" },
        ] },
        { title = "5XX responses", lines = [
          { namespace = "AWS/ApplicationELB", name = "HTTPCode_ELB_5XX_Count", dimensions = local.load_balancer, stat = "Sum", label = "from the load balancer" },
          { namespace = "AWS/ApplicationELB", name = "HTTPCode_Target_5XX_Count", dimensions = local.load_balancer, stat = "Sum", label = "from the collectors" },
        ] },
        { title = "Healthy and unhealthy hosts", lines = [
          { namespace = "AWS/ApplicationELB", name = "HealthyHostCount", dimensions = local.target_group, stat = "Minimum", label = "healthy" },
          { namespace = "AWS/ApplicationELB", name = "UnHealthyHostCount", dimensions = local.target_group, stat = "Maximum", label = "unhealthy" },
        ] },
        { title = "Target response time (s)", lines = [
          { namespace = "AWS/ApplicationELB", name = "TargetResponseTime", dimensions = local.load_balancer, stat = "p50", label = "p50" },
          { namespace = "AWS/ApplicationELB", name = "TargetResponseTime", dimensions = local.load_balancer, stat = "p99", label = "p99" },
        ] },
        { title = "Collector CPU (%)", lines = [
          { namespace = "AWS/EC2", name = "CPUUtilization", dimensions = local.collector_asg, stat = "Average", label = "average" },
          { namespace = "AWS/EC2", name = "CPUUtilization", dimensions = local.collector_asg, stat = "Maximum", label = "maximum" },
        ] },
        { title = "Collector instances in service", lines = [
          { namespace = "AWS/AutoScaling", name = "GroupInServiceInstances", dimensions = local.collector_asg, stat = "Average", label = "in service" },
        ] },
      ]
    }],
    [local.stream_rows.raw_good, local.stream_rows.raw_bad],
    [{
      title = "Enricher: fleet ${var.enricher.autoscaling_group_name}, KCL lease table ${var.enricher.lease_table_name}"
      graphs = [
        { title = "Enricher CPU (%)", lines = [
          { namespace = "AWS/EC2", name = "CPUUtilization", dimensions = local.enricher_asg, stat = "Average", label = "average" },
          { namespace = "AWS/EC2", name = "CPUUtilization", dimensions = local.enricher_asg, stat = "Maximum", label = "maximum" },
        ] },
        { title = "Enricher instances in service", lines = [
          { namespace = "AWS/AutoScaling", name = "GroupInServiceInstances", dimensions = local.enricher_asg, stat = "Average", label = "in service" },
        ] },
        { title = "KCL lease table capacity and throttles", lines = [
          { namespace = "AWS/DynamoDB", name = "ConsumedReadCapacityUnits", dimensions = local.lease_table, stat = "Sum", label = "read units" },
          { namespace = "AWS/DynamoDB", name = "ConsumedWriteCapacityUnits", dimensions = local.lease_table, stat = "Sum", label = "write units" },
          { namespace = "AWS/DynamoDB", name = "ReadThrottleEvents", dimensions = local.lease_table, stat = "Sum", label = "read throttles" },
          { namespace = "AWS/DynamoDB", name = "WriteThrottleEvents", dimensions = local.lease_table, stat = "Sum", label = "write throttles" },
        ] },
      ]
    }],
    [local.stream_rows.enriched_good, local.stream_rows.enriched_bad],
    [for k, name in var.delivery_streams : {
      title = "Firehose ${name}"
      graphs = [
        { title = "Records read and delivered", lines = [
          { namespace = "AWS/Firehose", name = "DataReadFromKinesisStream.Records", dimensions = local.delivery[k], stat = "Sum", label = "read from Kinesis" },
          { namespace = "AWS/Firehose", name = "IncomingRecords", dimensions = local.delivery[k], stat = "Sum", label = "incoming" },
          { namespace = "AWS/Firehose", name = "DeliveryToS3.Records", dimensions = local.delivery[k], stat = "Sum", label = "delivered to S3" },
        ] },
        { title = "Delivery to S3 success (1 = all)", lines = [
          { namespace = "AWS/Firehose", name = "DeliveryToS3.Success", dimensions = local.delivery[k], stat = "Average", label = "success" },
        ] },
        { title = "Data freshness (s): age of the oldest undelivered record", lines = [
          { namespace = "AWS/Firehose", name = "DeliveryToS3.DataFreshness", dimensions = local.delivery[k], stat = "Maximum", label = "maximum" },
        ] },
        { title = "Lambda processing success (1 = all)", lines = [
          { namespace = "AWS/Firehose", name = "ExecuteProcessing.Success", dimensions = local.delivery[k], stat = "Average", label = "success" },
        ] },
      ]
    }],
    [for k, name in var.functions : {
      title = "Pseudonymization Lambda ${name}"
      graphs = [
        { title = "Invocations", lines = [
          { namespace = "AWS/Lambda", name = "Invocations", dimensions = local.function[k], stat = "Sum", label = "invocations" },
        ] },
        { title = "Errors and throttles", lines = [
          { namespace = "AWS/Lambda", name = "Errors", dimensions = local.function[k], stat = "Sum", label = "errors" },
          { namespace = "AWS/Lambda", name = "Throttles", dimensions = local.function[k], stat = "Sum", label = "throttles" },
        ] },
        { title = "Duration (ms)", lines = [
          { namespace = "AWS/Lambda", name = "Duration", dimensions = local.function[k], stat = "Average", label = "average" },
          { namespace = "AWS/Lambda", name = "Duration", dimensions = local.function[k], stat = "Maximum", label = "maximum" },
        ] },
        { title = "Largest response (bytes; the cap is 6291456)", lines = [
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.response_bytes, dimensions = local.function_emf[k], stat = "Maximum", label = "maximum" },
        ] },
        { title = "Values pseudonymized", lines = [
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.values_pseudonymized, dimensions = local.function_emf[k], stat = "Sum", label = "values" },
        ] },
        { title = "Records in and ProcessingFailed", lines = [
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.records_in, dimensions = local.function_emf[k], stat = "Sum", label = "records in" },
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.records_failed, dimensions = local.function_emf[k], stat = "Sum", label = "ProcessingFailed" },
        ] },
        { title = "ProcessingFailed by reason", lines = [
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.failed_malformed_base64, dimensions = local.function_emf[k], stat = "Sum", label = "malformed base64" },
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.failed_malformed_utf8, dimensions = local.function_emf[k], stat = "Sum", label = "malformed UTF-8" },
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.failed_wrong_field_count, dimensions = local.function_emf[k], stat = "Sum", label = "wrong field count" },
          { namespace = local.emf_namespace, name = var.pseudonymization_metrics.failed_unparsable_bad_row, dimensions = local.function_emf[k], stat = "Sum", label = "unparsable bad row" },
        ] },
      ]
    }],
  )

  # Layout on CloudWatch's 24-column grid: the alarm list on top, then per row a one-line title
  # and its graphs side by side.
  alarm_list_height = 4
  row_height        = 7
  widgets = concat(
    [{
      type   = "alarm"
      x      = 0
      y      = 0
      width  = 24
      height = local.alarm_list_height
      properties = {
        title  = "Alarms (P1 page now, P2 today, P3 next working day)"
        alarms = sort([for name in concat(values(local.alarm_names), var.additional_alarm_names) : "${local.alarm_arn_stem}${name}"])
      }
    }],
    flatten([for r, row in local.rows : concat(
      [{
        type       = "text"
        x          = 0
        y          = local.alarm_list_height + r * local.row_height
        width      = 24
        height     = 1
        properties = { markdown = "### ${row.title}" }
      }],
      [for g, graph in row.graphs : {
        type   = "metric"
        x      = g * floor(24 / length(row.graphs))
        y      = local.alarm_list_height + r * local.row_height + 1
        width  = floor(24 / length(row.graphs))
        height = local.row_height - 1
        properties = {
          title   = graph.title
          region  = local.region
          view    = "timeSeries"
          stacked = false
          period  = 300
          yAxis   = { left = { min = 0 } }
          metrics = [for line in graph.lines : concat(
            [line.namespace, line.name],
            flatten([for name, value in line.dimensions : [name, value]]),
            [{ stat = line.stat, label = line.label }],
          )]
        }
      }],
    )]),
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.dashboard_name
  dashboard_body = jsonencode({ widgets = local.widgets })
}
