# The replay role (docs/alarms.md, "ProcessingFailed records"): what `snowplow-infra failed
# list|explain|replay` runs as, assumed from the break-glass role. It reads the error objects and
# keeps the replay manifests in the events bucket, and puts the records back on the delivery
# streams' Kinesis source streams, so that they take the same Firehose and Lambda path again.

module "replay_role" {
  source = "../../modules/replay-role"

  name             = var.replay_role_name
  trusted_role_arn = local.break_glass_role_arn

  bucket_arn      = module.bucket["events"].arn
  error_prefixes  = [for d in module.delivery : d.error_prefix]
  manifest_prefix = local.replay_manifest_prefix

  source_stream_arns   = distinct([for d in local.pipeline.delivery : module.stream[d.source].arn])
  delivery_stream_arns = [for d in module.delivery : d.arn]
  function_arns        = values(module.pseudonymization.function_arns)

  storage_kms_key_arn = module.kms_key["storage"].arn
  streams_kms_key_arn = module.kms_key["streams"].arn
}
