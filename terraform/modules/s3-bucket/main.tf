data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The regional Elastic Load Balancing account that writes access logs in regions launched before
# August 2022 (resolved by the provider from its own table; no API call).
data "aws_elb_service_account" "current" {
  count = try(var.log_delivery.elb_access_logs, null) == null ? 0 : 1
}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  bucket_arn    = "arn:${local.partition}:s3:::${var.name}"
  is_log_sink   = var.log_delivery != null
  s3_logs       = try(var.log_delivery.s3_server_access_logs, null)
  elb_logs      = try(var.log_delivery.elb_access_logs, null)
  sse_algorithm = local.is_log_sink ? "AES256" : "aws:kms"

  # Deny statements name every principal as { AWS = "*" }, which IAM treats exactly like "*"; the
  # object form is also the one the local emulator (moto) can read.
  tls_statement = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = { AWS = "*" }
    Action    = "s3:*"
    Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }

  # Default encryption encrypts every upload that asks for nothing; this denies the uploads that
  # ask for another algorithm, so no object can end up encrypted any other way. See README.md,
  # "Encryption".
  encryption_statement = {
    Sid       = "DenyUploadsWithAnotherEncryption"
    Effect    = "Deny"
    Principal = { AWS = "*" }
    Action    = "s3:PutObject"
    Resource  = "${local.bucket_arn}/*"
    Condition = {
      StringNotEquals = { "s3:x-amz-server-side-encryption" = local.sse_algorithm }
      Null            = { "s3:x-amz-server-side-encryption" = "false" }
    }
  }

  # A data bucket also pins its key: S3 accepts an SSE-KMS upload that names another key, or that
  # asks for aws:kms without naming one (S3 then uses the AWS managed aws/s3 key), and neither
  # could be read by a principal that only has kms_key_arn (Snowflake's role). Uploads that ask
  # for nothing still get the default encryption, with kms_key_arn.
  key_statements = local.is_log_sink ? [] : [
    {
      Sid       = "DenyUploadsWithAnotherKmsKey"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "s3:PutObject"
      Resource  = "${local.bucket_arn}/*"
      Condition = {
        StringNotEquals = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = var.kms_key_arn }
        Null            = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "false" }
      }
    },
    {
      Sid       = "DenyKmsUploadsWithoutTheKey"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "s3:PutObject"
      Resource  = "${local.bucket_arn}/*"
      Condition = {
        StringEquals = { "s3:x-amz-server-side-encryption" = "aws:kms" }
        Null         = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "true" }
      }
    },
  ]

  restricted_read_statements = [for index, r in var.read_restricted_prefixes : {
    Sid       = "OnlyNamedPrincipalsRead${index}"
    Effect    = "Deny"
    Principal = { AWS = "*" }
    Action    = "s3:GetObject*"
    Resource  = "${local.bucket_arn}/${r.prefix}*"
    Condition = { ArnNotEquals = { "aws:PrincipalArn" = r.reader_arns } }
  }]

  log_delivery_statements = concat(
    # One statement per source bucket: each may write only under PREFIX/SOURCE_BUCKET/.
    local.s3_logs == null ? [] : [for index, source in local.s3_logs.source_bucket_names : {
      Sid       = "S3ServerAccessLogsFrom${index}"
      Effect    = "Allow"
      Principal = { Service = "logging.s3.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "${local.bucket_arn}/${local.s3_logs.prefix}${source}/*"
      Condition = {
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:s3:::${source}" }
        StringEquals = { "aws:SourceAccount" = local.account_id }
      }
    }],
    local.elb_logs == null ? [] : [{
      Sid    = "ElasticLoadBalancingAccessLogsDelivery"
      Effect = "Allow"
      Principal = {
        AWS     = data.aws_elb_service_account.current[0].arn
        Service = "logdelivery.elasticloadbalancing.amazonaws.com"
      }
      Action   = "s3:PutObject"
      Resource = "${local.bucket_arn}/${local.elb_logs.prefix}/AWSLogs/${local.account_id}/*"
    }],
  )

  policy = {
    Version = "2012-10-17"
    Statement = concat(
      [local.tls_statement, local.encryption_statement],
      local.key_statements,
      local.restricted_read_statements,
      local.log_delivery_statements,
    )
  }
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_144: Cross-region replication is not every bucket's business: these events reach Snowflake within minutes and the raw streams keep 48 h for replays; a second-region copy would double where personal data lives.
  # checkov:skip=CKV2_AWS_62: A bucket has one notification configuration, owned by its consumer (Snowpipe's, in the snowflake-access module); one owned here would overwrite it.
  # checkov:skip=CKV_AWS_145: SSE-KMS for every bucket except the log_delivery one: S3 server access logs and ELB access logs can only be written SSE-S3 (README.md, "Encryption"); the module's tests assert SSE-KMS for data buckets.
  bucket        = var.name
  force_destroy = false

  lifecycle {
    precondition {
      condition     = (var.kms_key_arn == null) == local.is_log_sink
      error_message = "Bucket ${var.name}: give kms_key_arn for a data bucket (SSE-KMS), or log_delivery (and no kms_key_arn) for the access-log bucket (SSE-S3)."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.sse_algorithm
      kms_master_key_id = var.kms_key_arn
    }
    # A Bucket Key cuts KMS requests (and cost) by caching a bucket-level data key; it only
    # applies to SSE-KMS.
    bucket_key_enabled = !local.is_log_sink
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode(local.policy)

  # S3 rejects concurrent configuration changes on one bucket; apply the policy last.
  depends_on = [aws_s3_bucket_public_access_block.this, aws_s3_bucket_ownership_controls.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_logging == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_logging.target_bucket
  target_prefix = var.access_logging.target_prefix
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  # checkov:skip=CKV_AWS_300: Every rule aborts incomplete multipart uploads (abort_incomplete_multipart_upload_days, 7 unless set; asserted by the tests); checkov cannot follow rules passed through a caller's for_each.
  count = length(var.lifecycle_rules) == 0 ? 0 : 1

  bucket = aws_s3_bucket.this.id

  dynamic "rule" {
    for_each = var.lifecycle_rules

    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.prefix
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = rule.value.abort_incomplete_multipart_upload_days
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]
        content {
          days = expiration.value
        }
      }

      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.noncurrent_version_expiration_days == null ? [] : [rule.value.noncurrent_version_expiration_days]
        content {
          noncurrent_days = noncurrent_version_expiration.value
        }
      }

      dynamic "transition" {
        for_each = rule.value.transitions
        content {
          days          = transition.value.days
          storage_class = transition.value.storage_class
        }
      }
    }
  }

  # Lifecycle rules on noncurrent versions need versioning to be on first.
  depends_on = [aws_s3_bucket_versioning.this]
}

# lifecycle.prevent_destroy cannot take a variable, so the guard is a separate resource that is
# replaced whenever the bucket is. See docs/data-path.md, "Protection against destruction".
resource "terraform_data" "prevent_destroy" {
  count = var.prevent_destroy ? 1 : 0

  triggers_replace = [aws_s3_bucket.this.arn]

  lifecycle {
    prevent_destroy = true
  }
}
