# Operations and hand-off (issue 7): Snowflake's read access to the events bucket and the Snowpipe
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
