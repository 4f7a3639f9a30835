# --- data path (KMS keys, streams, buckets, pseudonymization, delivery) ---

output "kms_key_arns" {
  description = "KMS key ARNs keyed by purpose: streams, storage, secrets, logs."
  value       = { for k, key in module.kms_key : k => key.arn }
}

output "stream_names" {
  description = "Kinesis stream names keyed by role (raw_good, raw_bad, enriched_good, enriched_bad)."
  value       = { for k, s in module.stream : k => s.name }
}

output "bucket_names" {
  description = "S3 bucket names keyed by role (events, access_logs)."
  value       = { for k, b in module.bucket : k => b.name }
}

output "pseudonymization" {
  description = "The pseudonymization functions keyed by record format, and the ARN of the salt secret whose value is set out of band."
  value = {
    function_names  = module.pseudonymization.function_names
    salt_secret_arn = module.pseudonymization.salt_secret_arn
  }
}

output "delivery_streams" {
  description = "Firehose delivery streams keyed by role: name, source stream, bucket, the fixed prefix of delivered objects and of failed (raw) records, and the processor buffer."
  value = { for k, d in module.delivery : k => {
    name                              = d.name
    source_stream                     = module.stream[local.pipeline.delivery[k].source].name
    bucket                            = module.bucket["events"].name
    prefix                            = d.prefix
    error_prefix                      = d.error_prefix
    processor_buffer_size_mb          = d.processor_buffer_size_mb
    processor_buffer_interval_seconds = d.processor_buffer_interval_seconds
  } }
}

# --- operations (monitoring, Snowflake access) ---

output "snowflake_storage_aws_role_arn" {
  description = "STORAGE_AWS_ROLE_ARN for CREATE STORAGE INTEGRATION (docs/snowflake.md); known before the role exists."
  value       = module.snowflake_access.role_arn
}

output "snowflake_storage_allowed_locations" {
  description = "STORAGE_ALLOWED_LOCATIONS, and each stage's URL, keyed by delivery stream (enriched_good, enriched_bad, raw_bad)."
  value       = module.snowflake_access.storage_allowed_locations
}

output "snowflake_storage_blocked_locations" {
  description = "STORAGE_BLOCKED_LOCATIONS: the processing-failed prefixes Snowflake must never read."
  value       = module.snowflake_access.storage_blocked_locations
}

# --- compute (collector, enricher) ---

output "collector_dns_name" {
  description = "DNS name of the collector's load balancer: point the collector hostname (the certificate's name) at it."
  value       = module.collector.dns_name
}

output "dashboard_name" {
  description = "The CloudWatch dashboard that shows every stage of the pipeline."
  value       = module.monitoring.dashboard_name
}

output "alarm_topic_arns" {
  description = "The alarm SNS topics keyed by priority (P1, P2, P3); subscribe people and tools here (docs/alarms.md)."
  value       = module.monitoring.topic_arns
}

output "replay_role_arn" {
  description = "The role `snowplow-infra failed list|explain|replay` runs as, assumed from the break-glass role (docs/alarms.md, \"ProcessingFailed records\")."
  value       = module.replay_role.arn
}
