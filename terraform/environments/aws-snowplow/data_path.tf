# The data path: KMS keys, Kinesis streams, S3 buckets, the pseudonymization Lambda and
# the Firehose delivery streams that carry events from the enriched and bad streams to S3.
# Names come from pipeline.yaml (local.pipeline); decisions are in docs/data-path.md.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # Build output Terraform reads (the Lambda zip and its hash, the app configs): the repository's
  # build/ folder unless artifacts_dir says otherwise. compute.tf reads the configs from here too.
  artifacts_dir = coalesce(var.artifacts_dir, "${path.root}/../../../build")

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  kms_keys = {
    streams = "Encrypts the Snowplow pipeline's Kinesis data streams."
    storage = "Encrypts the Snowplow pipeline's S3 buckets (SSE-KMS)."
    secrets = "Encrypts the Snowplow pipeline's secrets: the pseudonymization salt and the optional Iglu API key."
    logs    = "Encrypts the Snowplow pipeline's CloudWatch log groups."
  }

  # Firehose writes the records the Lambda could not pseudonymize, raw, under this prefix of the
  # destination bucket (it has no separate error bucket). Only the break-glass role and the replay
  # role it assumes (replay.tf) may read them, and they expire first. The replay manifests live
  # inside the same prefix, so the same Deny guards them and the same rule expires them.
  processing_failed_prefix = "processing-failed/"
  replay_manifest_prefix   = "${local.processing_failed_prefix}replay-manifests/"
  break_glass_role_arn     = "arn:${local.partition}:iam::${local.account_id}:role/${var.break_glass_role_name}"
  # Built from the name rather than read from the module: the bucket policy needs it, and the
  # role's policy needs the bucket.
  replay_role_arn = "arn:${local.partition}:iam::${local.account_id}:role/${var.replay_role_name}"

  # Salt versions (docs/salt-rotation.md): each delivered object's key carries the salt version of
  # its records, and the enriched function writes link records across a rotation under their own
  # prefix, which only the links reader may read (and no delivery stream or Snowflake reaches).
  salt_version_partition_key = "salt_version"
  salt_links_prefix          = "salt-links/"
  salt_links_reader_role_arn = "arn:${local.partition}:iam::${local.account_id}:role/${var.salt_links_reader_role_name}"

  # Priority of the pseudonymization functions' own alarms (docs/alarms.md): its name suffix and
  # the alarm topic they notify.
  pseudonymization_alarm_priority = "P2"

  # Where the log delivery services write in the access-log bucket.
  s3_access_logs_prefix  = "s3/"
  elb_access_logs_prefix = "collector-alb"

  # Read through a local so that the events bucket's logging waits for the access-log bucket (and
  # its policy) without the module call referring to itself.
  access_logs_bucket_name = module.bucket["access_logs"].name

  # Per bucket role of pipeline.yaml: its encryption key (null: the SSE-S3 log-delivery
  # exception), whether it sends its access logs to the access-log bucket, and its rules.
  buckets = {
    events = {
      kms_key      = "storage"
      log_delivery = null
      logs_access  = true
      read_restricted_prefixes = [
        { prefix = local.processing_failed_prefix, reader_arns = [local.break_glass_role_arn, local.replay_role_arn] },
        { prefix = local.salt_links_prefix, reader_arns = [local.salt_links_reader_role_arn] },
      ]
      lifecycle_rules = [
        {
          id                                     = "processing-failed"
          prefix                                 = local.processing_failed_prefix
          expiration_days                        = var.processing_failed_retention_days
          noncurrent_version_expiration_days     = 1
          abort_incomplete_multipart_upload_days = 1
        },
        {
          id                                     = "salt-links"
          prefix                                 = local.salt_links_prefix
          expiration_days                        = var.salt_links_retention_days
          noncurrent_version_expiration_days     = 1
          abort_incomplete_multipart_upload_days = 1
        },
        { id = "noncurrent-versions", noncurrent_version_expiration_days = 30 },
      ]
    }
    access_logs = {
      kms_key = null
      log_delivery = {
        s3_server_access_logs = { prefix = local.s3_access_logs_prefix, source_bucket_names = [local.pipeline.buckets.events] }
        elb_access_logs       = { prefix = local.elb_access_logs_prefix }
      }
      logs_access              = false
      read_restricted_prefixes = []
      lifecycle_rules = [
        { id = "expire-logs", expiration_days = var.access_log_retention_days, noncurrent_version_expiration_days = 1 },
      ]
    }
  }
}

module "kms_key" {
  source   = "../../modules/kms-key"
  for_each = local.kms_keys

  name        = "snowplow/${each.key}"
  description = each.value

  # CloudWatch Logs encrypts with the key as itself, for this account's log groups only.
  service_principals = each.key != "logs" ? [] : [{
    sid     = "CloudWatchLogsEncryptsLogGroups"
    service = "logs.${local.pipeline.region}.amazonaws.com"
    actions = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    conditions = [{
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.pipeline.region}:${local.account_id}:log-group:*"]
    }]
  }]

  prevent_destroy = var.prevent_destroy
}

module "stream" {
  source   = "../../modules/kinesis-stream"
  for_each = local.pipeline.streams

  name            = each.value.name
  retention_hours = each.value.retention_hours
  stream_mode     = try(var.stream_capacity[each.key].mode, "ON_DEMAND")
  shard_count     = try(var.stream_capacity[each.key].shard_count, null)
  kms_key_arn     = module.kms_key["streams"].arn
  prevent_destroy = var.prevent_destroy
}

module "bucket" {
  source   = "../../modules/s3-bucket"
  for_each = local.buckets

  name         = local.pipeline.buckets[each.key]
  kms_key_arn  = each.value.kms_key == null ? null : module.kms_key[each.value.kms_key].arn
  log_delivery = each.value.log_delivery
  access_logging = !each.value.logs_access ? null : {
    target_bucket = local.access_logs_bucket_name
    target_prefix = "${local.s3_access_logs_prefix}${local.pipeline.buckets[each.key]}/"
  }
  read_restricted_prefixes = each.value.read_restricted_prefixes
  lifecycle_rules          = each.value.lifecycle_rules
  prevent_destroy          = var.prevent_destroy
}

module "pseudonymization" {
  source = "../../modules/pseudonymization-lambda"

  function_names       = local.pipeline.pseudonymization.functions
  package_path         = "${local.artifacts_dir}/lambda/pseudonymization.zip"
  package_base64sha256 = trimspace(file("${local.artifacts_dir}/lambda/pseudonymization.zip.base64sha256"))
  runtime              = local.pipeline.pseudonymization.runtime
  architecture         = local.pipeline.pseudonymization.architecture
  metrics_namespace    = local.pipeline.pseudonymization.metrics_namespace

  salt_secret_name    = local.pipeline.pseudonymization.salt_secret_name
  secrets_kms_key_arn = module.kms_key["secrets"].arn
  logs_kms_key_arn    = module.kms_key["logs"].arn
  prevent_destroy     = var.prevent_destroy

  salt_version_partition_key = local.salt_version_partition_key
  salt_links = {
    bucket_arn     = module.bucket["events"].arn
    prefix         = local.salt_links_prefix
    kms_key_arn    = module.kms_key["storage"].arn
    window_seconds = var.salt_link_window_seconds
  }

  # The functions' own alarms (errors, throttles, duration) are the only alarms on their AWS/Lambda
  # metrics: P2, notifying the P2 alarm topic (operations.tf), listed on the SnowPlow dashboard.
  alarm_priority = local.pseudonymization_alarm_priority
  alarm_actions  = [module.monitoring.topic_arns[local.pseudonymization_alarm_priority]]
  # Alarm texts link the runbook there (operations.tf passes the same to the monitoring module).
  runbook_base_url = var.runbook_base_url
}

module "delivery" {
  source   = "../../modules/firehose-to-s3"
  for_each = local.pipeline.delivery

  name               = each.value.name
  source_stream_arn  = module.stream[each.value.source].arn
  source_kms_key_arn = module.kms_key["streams"].arn

  processor_function_arn            = module.pseudonymization.function_arns[each.value.record_format]
  processor_buffer_size_mb          = var.processor_buffer.size_mb
  processor_buffer_interval_seconds = var.processor_buffer.interval_seconds

  bucket_arn                 = module.bucket["events"].arn
  prefix                     = each.value.prefix
  error_prefix               = "${local.processing_failed_prefix}${each.value.prefix}"
  salt_version_partition_key = local.salt_version_partition_key
  kms_key_arn                = module.kms_key["storage"].arn
  logs_kms_key_arn           = module.kms_key["logs"].arn

  iam_propagation_seconds = var.iam_propagation_seconds
}
