data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  # Firehose's timestamp namespace (UTC) after the fixed prefixes; the error output type
  # (processing-failed, ...) separates failure kinds. With salt_version_partition_key, the salt
  # version the Lambda returns for each record comes first (dynamic partitioning), so that every
  # object holds the pseudonyms of one version and its key says which.
  version_part    = var.salt_version_partition_key == null ? "" : "${var.salt_version_partition_key}=!{partitionKeyFromLambda:${var.salt_version_partition_key}}/"
  s3_prefix       = "${var.prefix}${local.version_part}!{timestamp:yyyy/MM/dd/HH}/"
  s3_error_prefix = "${var.error_prefix}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"

  log_group_name  = "/aws/kinesisfirehose/${var.name}"
  log_stream_name = "DestinationDelivery"
  log_group_arn   = "arn:${data.aws_partition.current.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  # Firehose does not return a processor parameter that equals its default, so setting one to its
  # default shows a change on every plan. Parameters are therefore sent only when they differ.
  processor_defaults = { BufferSizeInMBs = 1, BufferIntervalInSeconds = 60, NumberOfRetries = 3 }
  processor_settings = {
    BufferSizeInMBs         = var.processor_buffer_size_mb
    BufferIntervalInSeconds = var.processor_buffer_interval_seconds
    NumberOfRetries         = var.processor_retries
  }
  processor_parameters = merge(
    { LambdaArn = var.processor_function_arn },
    { for name, value in local.processor_settings : name => tostring(value) if value != null && value != local.processor_defaults[name] },
  )

  # Built with jsonencode() rather than aws_iam_policy_document so that tests can decode them.
  assume_role_policy = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "firehose.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = local.account_id } }
    }]
  }

  role_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadTheSourceStream"
        Effect   = "Allow"
        Action   = ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"]
        Resource = var.source_stream_arn
      },
      {
        Sid      = "DecryptTheSourceStreamThroughKinesis"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.source_kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService"                        = "kinesis.${local.region}.amazonaws.com"
            "kms:EncryptionContext:aws:kinesis:arn" = var.source_stream_arn
          }
        }
      },
      {
        Sid      = "InvokeTheProcessor"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
        Resource = var.processor_function_arn
      },
      {
        Sid      = "LocateTheBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
        Resource = var.bucket_arn
      },
      {
        Sid      = "WriteUnderItsPrefixesOnly"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = ["${var.bucket_arn}/${var.prefix}*", "${var.bucket_arn}/${var.error_prefix}*"]
      },
      {
        # SSE-KMS uploads need a data key; multipart uploads also decrypt it to complete.
        Sid      = "EncryptObjectsThroughS3"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" }
          # The bucket ARN when the bucket uses an S3 Bucket Key, the object ARN otherwise.
          StringLike = { "kms:EncryptionContext:aws:s3:arn" = [var.bucket_arn, "${var.bucket_arn}/${var.prefix}*", "${var.bucket_arn}/${var.error_prefix}*"] }
        }
      },
      {
        Sid      = "LogDeliveryErrors"
        Effect   = "Allow"
        Action   = "logs:PutLogEvents"
        Resource = "${local.log_group_arn}:log-stream:${local.log_stream_name}"
      },
    ]
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Delivery role of the ${var.name} Firehose stream: read its source stream, invoke its processor, write under its prefixes."
  assume_role_policy = jsonencode(local.assume_role_policy)
}

resource "aws_iam_role_policy" "this" {
  name   = "deliver"
  role   = aws_iam_role.this.id
  policy = jsonencode(local.role_policy)
}

# IAM is eventually consistent: CreateDeliveryStream right after the role's policy is known to fail
# now and then ("The security token included in the request is invalid", which the provider does
# not retry: hashicorp/terraform-provider-aws#47937). The stream waits this long after the role or
# its policy is created or changed. Only the aws provider is allowed here (no time_sleep), so the
# wait is a local sleep on the machine that applies.
resource "terraform_data" "iam_propagation" {
  count = var.iam_propagation_seconds > 0 ? 1 : 0

  triggers_replace = [aws_iam_role.this.arn, sha256(aws_iam_role_policy.this.policy)]

  provisioner "local-exec" {
    command = "sleep ${var.iam_propagation_seconds}"
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_cloudwatch_log_stream" "this" {
  name           = local.log_stream_name
  log_group_name = aws_cloudwatch_log_group.this.name
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  # checkov:skip=CKV_AWS_240: Firehose server-side encryption exists only for Direct PUT sources; with a Kinesis source the records are encrypted at rest by the source stream's KMS key, and the S3 objects by kms_key_arn.
  # checkov:skip=CKV_AWS_241: Same reason as CKV_AWS_240: a stream with a Kinesis source cannot take server_side_encryption.
  name        = var.name
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = var.source_stream_arn
    role_arn           = aws_iam_role.this.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.this.arn
    bucket_arn          = var.bucket_arn
    prefix              = local.s3_prefix
    error_output_prefix = local.s3_error_prefix
    compression_format  = "GZIP"
    kms_key_arn         = var.kms_key_arn
    buffering_size      = var.buffering_size_mb
    buffering_interval  = var.buffering_interval_seconds

    processing_configuration {
      enabled = true

      processors {
        type = "Lambda"

        dynamic "parameters" {
          for_each = local.processor_parameters
          content {
            parameter_name  = parameters.key
            parameter_value = parameters.value
          }
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.this.name
      log_stream_name = aws_cloudwatch_log_stream.this.name
    }

    # Can only be enabled when the stream is created (Firehose refuses to turn it on later).
    dynamic "dynamic_partitioning_configuration" {
      for_each = var.salt_version_partition_key == null ? [] : [var.salt_version_partition_key]
      content {
        enabled        = true
        retry_duration = var.partitioning_retry_seconds
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.salt_version_partition_key == null || var.buffering_size_mb >= 64
      error_message = "Delivery stream ${var.name}: with dynamic partitioning (salt_version_partition_key) Firehose needs buffering_size_mb of at least 64; it is ${var.buffering_size_mb}."
    }
    precondition {
      condition     = !startswith(var.error_prefix, var.prefix) && !startswith(var.prefix, var.error_prefix)
      error_message = "Delivery stream ${var.name}: error_prefix (${var.error_prefix}) and prefix (${var.prefix}) must not contain one another: raw records under the error prefix must never be read as delivered data."
    }
  }

  # Firehose checks the role's permissions when the stream is created, once IAM has propagated them.
  depends_on = [aws_iam_role_policy.this, terraform_data.iam_propagation]
}
