# The replay role: exactly what `snowplow-infra failed list|explain|replay` needs, assumed from
# the break-glass role only. See README.md.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name

  policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListErrorObjectsAndManifests"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = var.bucket_arn
        Condition = {
          StringLike = { "s3:prefix" = [for p in concat(var.error_prefixes, [var.manifest_prefix]) : "${p}*"] }
        }
      },
      {
        Sid      = "ReadTheErrorRetention"
        Effect   = "Allow"
        Action   = "s3:GetLifecycleConfiguration"
        Resource = var.bucket_arn
      },
      {
        Sid      = "ReadAndTagErrorObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging"]
        Resource = [for p in var.error_prefixes : "${var.bucket_arn}/${p}*"]
      },
      {
        Sid      = "KeepReplayManifests"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "${var.bucket_arn}/${var.manifest_prefix}*"
      },
      {
        Sid      = "PutToAndReadBackSourceStreams"
        Effect   = "Allow"
        Action   = ["kinesis:PutRecords", "kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:DescribeStreamSummary"]
        Resource = var.source_stream_arns
      },
      {
        Sid      = "DescribeDeliveryStreams"
        Effect   = "Allow"
        Action   = "firehose:DescribeDeliveryStream"
        Resource = var.delivery_stream_arns
      },
      {
        Sid      = "ReadFunctionConfigurations"
        Effect   = "Allow"
        Action   = "lambda:GetFunctionConfiguration"
        Resource = var.function_arns
      },
      {
        Sid       = "StorageKeyThroughS3"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.storage_kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" } }
      },
      {
        Sid       = "StreamsKeyThroughKinesis"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.streams_kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "kinesis.${local.region}.amazonaws.com" } }
      },
    ]
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "Lists, explains and replays the records Firehose could not transform (snowplow-infra failed); assumed from the break-glass role only."
  max_session_duration = var.max_session_seconds

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "BreakGlassOnly"
      Effect    = "Allow"
      Principal = { AWS = var.trusted_role_arn }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "this" {
  name   = "replay-failed-records"
  role   = aws_iam_role.this.id
  policy = jsonencode(local.policy)
}
