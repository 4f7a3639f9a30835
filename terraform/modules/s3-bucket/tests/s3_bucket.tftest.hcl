mock_provider "aws" {
  source = "../../testing/aws-mocks"
}

variables {
  name        = "example-events"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
}

run "data_bucket_is_private_versioned_and_kms_encrypted" {
  command = plan

  assert {
    condition     = !aws_s3_bucket.this.force_destroy
    error_message = "A data bucket must never be force-destroyed with its objects."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls &&
      aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "All four public access block settings must be on."
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled."
  }
  assert {
    condition = [for r in aws_s3_bucket_server_side_encryption_configuration.this.rule : {
      algorithm  = one(r.apply_server_side_encryption_by_default).sse_algorithm
      key        = one(r.apply_server_side_encryption_by_default).kms_master_key_id
      bucket_key = r.bucket_key_enabled
      }] == [{
      algorithm  = "aws:kms"
      key        = var.kms_key_arn
      bucket_key = true
    }]
    error_message = "A data bucket must default to SSE-KMS with the given key and a Bucket Key."
  }
  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "Access logging must stay off unless a target is given."
  }
  assert {
    condition     = length(terraform_data.prevent_destroy) == 1
    error_message = "The bucket must be guarded against destruction by default."
  }
  assert {
    condition     = output.name == "example-events" && output.arn == "arn:aws:s3:::example-events"
    error_message = "Name and ARN must be known when planning, so that writers' plans show which bucket they use."
  }
}

run "policy_denies_plain_http_and_other_encryption" {
  command = plan

  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s if s.Sid == "DenyInsecureTransport"] == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "s3:*"
      Resource  = ["arn:aws:s3:::example-events", "arn:aws:s3:::example-events/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
    error_message = "The policy must deny every request that does not use TLS, on the bucket and its objects."
  }
  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Condition if s.Effect == "Deny" && s.Action == "s3:PutObject"] == [
      {
        StringNotEquals = { "s3:x-amz-server-side-encryption" = "aws:kms" }
        Null            = { "s3:x-amz-server-side-encryption" = "false" }
      },
      {
        StringNotEquals = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = var.kms_key_arn }
        Null            = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "false" }
      },
      {
        StringEquals = { "s3:x-amz-server-side-encryption" = "aws:kms" }
        Null         = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "true" }
      },
    ]
    error_message = "The policy must deny uploads that ask for another algorithm than aws:kms, name another KMS key than kms_key_arn, or ask for aws:kms without naming the key (S3 would use aws/s3)."
  }
  assert {
    condition     = length([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s if s.Effect == "Allow"]) == 0
    error_message = "A data bucket's policy must grant nothing: access comes from IAM roles."
  }
}

run "lifecycle_rules_from_input" {
  command = plan

  variables {
    lifecycle_rules = [
      { id = "raw", prefix = "processing-failed/", expiration_days = 7, noncurrent_version_expiration_days = 1 },
      { id = "archive", transitions = [{ days = 30, storage_class = "STANDARD_IA" }], abort_incomplete_multipart_upload_days = 2 },
    ]
  }

  assert {
    condition = [for r in aws_s3_bucket_lifecycle_configuration.this[0].rule : {
      id         = r.id
      status     = r.status
      prefix     = one(r.filter).prefix
      abort      = one(r.abort_incomplete_multipart_upload).days_after_initiation
      expiration = [for e in r.expiration : e.days]
      noncurrent = [for n in r.noncurrent_version_expiration : n.noncurrent_days]
      transition = [for t in r.transition : [t.days, t.storage_class]]
      }] == [
      { id = "raw", status = "Enabled", prefix = "processing-failed/", abort = 7, expiration = [7], noncurrent = [1], transition = [] },
      { id = "archive", status = "Enabled", prefix = "", abort = 2, expiration = [], noncurrent = [], transition = [[30, "STANDARD_IA"]] },
    ]
    error_message = "Each lifecycle rule must be planned as given, prefix-scoped and aborting incomplete uploads."
  }
}

run "read_restricted_prefix_denies_everyone_else" {
  command = plan

  variables {
    read_restricted_prefixes = [{ prefix = "processing-failed/", reader_arns = ["arn:aws:iam::111122223333:role/break-glass"] }]
  }

  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s if startswith(s.Sid, "OnlyNamedPrincipalsRead")] == [{
      Sid       = "OnlyNamedPrincipalsRead0"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "s3:GetObject*"
      Resource  = "arn:aws:s3:::example-events/processing-failed/*"
      Condition = { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::111122223333:role/break-glass"] } }
    }]
    error_message = "Reads under a restricted prefix must be denied to every principal but the named ones."
  }
}

run "access_logging_to_a_target" {
  command = plan

  variables {
    access_logging = { target_bucket = "example-access-logs", target_prefix = "s3/example-events/" }
  }

  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "example-access-logs" && aws_s3_bucket_logging.this[0].target_prefix == "s3/example-events/"
    error_message = "Access logs must go to the given bucket and prefix."
  }
}

run "log_delivery_bucket_is_the_sse_s3_exception" {
  command = plan

  variables {
    name        = "example-access-logs"
    kms_key_arn = null
    log_delivery = {
      s3_server_access_logs = { prefix = "s3/", source_bucket_names = ["example-events", "example-other"] }
      elb_access_logs       = { prefix = "alb" }
    }
  }

  assert {
    condition = [for r in aws_s3_bucket_server_side_encryption_configuration.this.rule : {
      algorithm  = one(r.apply_server_side_encryption_by_default).sse_algorithm
      no_key     = one(r.apply_server_side_encryption_by_default).kms_master_key_id == null
      bucket_key = r.bucket_key_enabled
    }] == [{ algorithm = "AES256", no_key = true, bucket_key = false }]
    error_message = "The log-delivery bucket must use SSE-S3: AWS log delivery cannot write SSE-KMS."
  }
  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Condition if s.Action == "s3:PutObject" && s.Effect == "Deny"] == [{
      StringNotEquals = { "s3:x-amz-server-side-encryption" = "AES256" }
      Null            = { "s3:x-amz-server-side-encryption" = "false" }
    }]
    error_message = "The log-delivery bucket must deny uploads asking for anything but SSE-S3."
  }
  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s if startswith(s.Sid, "S3ServerAccessLogsFrom")] == [
      for index, source in ["example-events", "example-other"] : {
        Sid       = "S3ServerAccessLogsFrom${index}"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "arn:aws:s3:::example-access-logs/s3/${source}/*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = "arn:aws:s3:::${source}" }
          StringEquals = { "aws:SourceAccount" = "111122223333" }
        }
      }
    ]
    error_message = "S3 logging may write for each source bucket of this account only under PREFIX/SOURCE_BUCKET/."
  }
  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s if s.Sid == "ElasticLoadBalancingAccessLogsDelivery"] == [{
      Sid       = "ElasticLoadBalancingAccessLogsDelivery"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::127311923021:root", Service = "logdelivery.elasticloadbalancing.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::example-access-logs/alb/AWSLogs/111122223333/*"
    }]
    error_message = "Elastic Load Balancing may write only under PREFIX/AWSLogs/ACCOUNT_ID/."
  }
  assert {
    condition     = output.elb_access_logs_prefix == "alb"
    error_message = "The module must tell load balancers which prefix to use."
  }
}

run "a_data_bucket_without_key_is_refused" {
  command = plan

  variables {
    kms_key_arn = null
  }

  expect_failures = [aws_s3_bucket.this]
}

run "a_log_bucket_with_a_kms_key_is_refused" {
  command = plan

  variables {
    log_delivery = { elb_access_logs = { prefix = "alb" } }
  }

  expect_failures = [aws_s3_bucket.this]
}

run "elb_prefix_with_trailing_slash_is_refused" {
  command = plan

  variables {
    kms_key_arn  = null
    log_delivery = { elb_access_logs = { prefix = "alb/" } }
  }

  expect_failures = [var.log_delivery]
}
