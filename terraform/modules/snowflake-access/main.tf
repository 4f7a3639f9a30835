data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # Known before the role exists: Snowflake's CREATE STORAGE INTEGRATION needs it first.
  role_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${var.role_name}"

  # The static part of each processing-failed prefix (Firehose expressions cut off).
  blocked_prefixes = distinct([for p in var.blocked_prefixes : split("!{", p)[0]])

  # A readable prefix and a blocked one overlap when either starts with the other.
  overlapping = flatten([
    for name, readable in var.readable_prefixes : [
      for blocked in local.blocked_prefixes : "${name} (${readable}) and ${blocked}"
      if startswith(readable, blocked) || startswith(blocked, readable)
    ]
  ])

  # Policies are built with jsonencode() so that tests can decode and assert on them.
  trust_policy = var.storage_integration == null ? null : jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "SnowflakeStorageIntegration"
      Effect    = "Allow"
      Principal = { AWS = var.storage_integration.iam_user_arn }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = var.storage_integration.external_id } }
    }]
  })

  read_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadPseudonymizedObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = [for p in values(var.readable_prefixes) : "${var.bucket_arn}/${p}*"]
      },
      {
        Sid       = "ListPseudonymizedPrefixes"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = var.bucket_arn
        Condition = { StringLike = { "s3:prefix" = [for p in values(var.readable_prefixes) : "${p}*"] } }
      },
      {
        Sid      = "LocateBucket"
        Effect   = "Allow"
        Action   = "s3:GetBucketLocation"
        Resource = var.bucket_arn
      },
      {
        Sid       = "DecryptThroughS3"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = var.kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${data.aws_region.current.name}.amazonaws.com" } }
      },
      {
        # Belt and braces: nothing above reaches these prefixes, and an explicit Deny keeps it so
        # if someone widens the grants later.
        Sid      = "NeverReadProcessingFailed"
        Effect   = "Deny"
        Action   = ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = [for p in local.blocked_prefixes : "${var.bucket_arn}/${p}*"]
      },
      {
        Sid       = "NeverListProcessingFailed"
        Effect    = "Deny"
        Action    = "s3:ListBucket"
        Resource  = var.bucket_arn
        Condition = { StringLike = { "s3:prefix" = [for p in local.blocked_prefixes : "${p}*"] } }
      },
    ]
  })
}

resource "aws_iam_role" "this" {
  count = var.storage_integration == null ? 0 : 1

  name                 = var.role_name
  description          = "Assumed by the Snowflake storage integration to read pseudonymized Snowplow events from s3://${var.bucket_name}."
  assume_role_policy   = local.trust_policy
  max_session_duration = var.max_session_duration
}

resource "aws_iam_role_policy" "read" {
  count = var.storage_integration == null ? 0 : 1

  name   = "read-pseudonymized-events"
  role   = aws_iam_role.this[0].id
  policy = local.read_policy
}

# S3 allows one notification configuration per bucket, so this resource owns the bucket's
# notifications: nothing else may manage them.
resource "aws_s3_bucket_notification" "this" {
  count = var.snowpipe_sqs_queue_arn == null ? 0 : 1

  bucket = var.bucket_name

  dynamic "queue" {
    for_each = var.readable_prefixes
    content {
      id            = "snowpipe-${queue.key}"
      queue_arn     = var.snowpipe_sqs_queue_arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = queue.value
    }
  }
}
