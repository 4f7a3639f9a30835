# Operations and hand-off: Snowflake's read access to the events bucket and the Snowpipe
# notifications (docs/snowflake.md), and the SnowPlow dashboard and prioritized alarms
# (docs/alarms.md). Every name comes from the module that owns it.

module "snowflake_access" {
  source = "../../modules/snowflake-access"

  bucket_name = module.bucket["events"].name
  bucket_arn  = module.bucket["events"].arn
  kms_key_arn = module.kms_key["storage"].arn

  # Snowflake reads what the delivery streams deliver, never what they fail to process.
  readable_prefixes = { for k, d in module.delivery : k => d.prefix }
  blocked_prefixes  = [for d in module.delivery : d.error_prefix]

  storage_integration    = var.snowflake_storage_integration
  snowpipe_sqs_queue_arn = var.snowpipe_sqs_queue_arn
}

# The alarm topics' key. CloudWatch alarms publish as the cloudwatch.amazonaws.com service, which
# needs the key under its own identity (the AWS-managed aws/sns key refuses it).
module "alarm_topics_key" {
  source = "../../modules/kms-key"

  name        = "snowplow/alarms"
  description = "Encrypts the Snowplow pipeline's alarm SNS topics; CloudWatch alarms use it to publish."
  service_principals = [{
    sid     = "CloudWatchAlarmsPublish"
    service = "cloudwatch.amazonaws.com"
    actions = ["kms:Decrypt", "kms:GenerateDataKey*"]
  }]
  prevent_destroy = var.prevent_destroy
}

module "monitoring" {
  source = "../../modules/monitoring"

  kms_key_arn = module.alarm_topics_key.arn

  collector = {
    load_balancer_arn_suffix = module.collector.load_balancer_arn_suffix
    target_group_arn_suffix  = module.collector.target_group_arn_suffix
    autoscaling_group_name   = module.collector.autoscaling_group_name
  }
  enricher = {
    autoscaling_group_name = module.enricher.autoscaling_group_name
    lease_table_name       = module.enricher.lease_table_name
  }
  streams          = { for k, s in module.stream : k => s.name }
  delivery_streams = { for k, d in module.delivery : k => d.name }
  functions        = module.pseudonymization.function_names

  # The namespace the functions write their EMF metrics to (pipeline.yaml, through the module).
  pseudonymization_metrics = { namespace = module.pseudonymization.metrics_namespace }

  # The functions' Errors, Throttles and Duration alarms are the pseudonymization module's own
  # (data_path.tf); the dashboard lists them with the rest.
  additional_alarm_names = values(module.pseudonymization.alarm_names)

  # Thresholds from terraform.tfvars (alarm_thresholds); an unset one is null, which the module
  # replaces with its default. Alarm texts link the runbook at runbook_base_url.
  collector_5xx_rate_percent      = var.alarm_thresholds.collector_5xx_rate_percent
  enrichment_lag_seconds          = var.alarm_thresholds.enrichment_lag_seconds
  enrichment_stalled_seconds      = var.alarm_thresholds.enrichment_stalled_seconds
  delivery_lag_seconds            = var.alarm_thresholds.delivery_lag_seconds
  delivery_freshness_seconds      = var.alarm_thresholds.delivery_freshness_seconds
  lambda_response_bytes_threshold = var.alarm_thresholds.lambda_response_bytes_threshold
  low_good_events_threshold       = var.alarm_thresholds.low_good_events_threshold
  bad_to_good_ratio_percent       = var.alarm_thresholds.bad_to_good_ratio_percent
  runbook_base_url                = var.runbook_base_url

  # E-mail lists are committed in terraform.tfvars; HTTPS endpoints (PagerDuty) come from a masked
  # CI/CD variable because their URLs embed a routing key.
  subscriptions = {
    for priority in setunion(keys(var.alarm_email_subscribers), keys(var.alarm_https_subscribers)) : priority => {
      email = lookup(var.alarm_email_subscribers, priority, [])
      https = lookup(var.alarm_https_subscribers, priority, [])
    }
  }
}
