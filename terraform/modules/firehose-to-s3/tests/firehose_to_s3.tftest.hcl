mock_provider "aws" {
  source = "../../testing/aws-mocks"

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/enriched-good-to-s3" }
  }
}

variables {
  name                              = "enriched-good-to-s3"
  source_stream_arn                 = "arn:aws:kinesis:us-east-1:111122223333:stream/enriched-good"
  source_kms_key_arn                = "arn:aws:kms:us-east-1:111122223333:key/streams"
  processor_function_arn            = "arn:aws:lambda:us-east-1:111122223333:function:pseudonymize-enriched"
  processor_buffer_size_mb          = 0.5
  processor_buffer_interval_seconds = 30
  bucket_arn                        = "arn:aws:s3:::example-events"
  prefix                            = "output/"
  error_prefix                      = "processing-failed/output/"
  kms_key_arn                       = "arn:aws:kms:us-east-1:111122223333:key/storage"
  logs_kms_key_arn                  = "arn:aws:kms:us-east-1:111122223333:key/logs"
}

run "kinesis_source_to_gzip_kms_encrypted_s3" {
  command = plan

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.destination == "extended_s3" && aws_kinesis_firehose_delivery_stream.this.kinesis_source_configuration[0].kinesis_stream_arn == var.source_stream_arn
    error_message = "The delivery stream must read the given Kinesis stream into extended S3."
  }
  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].bucket_arn == var.bucket_arn &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].compression_format == "GZIP" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].kms_key_arn == var.kms_key_arn
    )
    error_message = "Objects must be GZIP-compressed and SSE-KMS-encrypted with the given key in the given bucket."
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == "output/!{timestamp:yyyy/MM/dd/HH}/"
    error_message = "Delivered objects must go under PREFIX followed by the UTC timestamp namespace."
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].error_output_prefix == "processing-failed/output/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
    error_message = "Failed records must go under ERROR_PREFIX, split by error output type and hour."
  }
  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].enabled &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].log_group_name == "/aws/kinesisfirehose/enriched-good-to-s3" &&
      aws_cloudwatch_log_group.this.kms_key_id == var.logs_kms_key_arn
    )
    error_message = "Delivery errors must be logged to the stream's own KMS-encrypted log group."
  }
}

run "processor_invokes_the_function_with_non_default_buffers" {
  command = plan

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].enabled &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].type == "Lambda"
    )
    error_message = "Records must pass through a Lambda processor."
  }
  assert {
    condition = {
      for p in aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].parameters :
      p.parameter_name => p.parameter_value
      } == {
      LambdaArn               = "arn:aws:lambda:us-east-1:111122223333:function:pseudonymize-enriched"
      BufferSizeInMBs         = "0.5"
      BufferIntervalInSeconds = "30"
    }
    error_message = "The processor must invoke the given function with the given buffer size and interval."
  }
}

run "processor_parameters_equal_to_defaults_are_not_sent" {
  command = plan

  variables {
    processor_buffer_size_mb          = 1
    processor_buffer_interval_seconds = 60
    processor_retries                 = 3
  }

  assert {
    condition = [
      for p in aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].parameters : p.parameter_name
    ] == ["LambdaArn"]
    error_message = "A processor parameter equal to Firehose's default must not be sent (it would diff on every plan)."
  }
  assert {
    condition     = output.processor_buffer_size_mb == 1 && output.processor_buffer_interval_seconds == 60
    error_message = "The outputs must still report the buffer in effect."
  }
}

run "non_default_retries_are_sent" {
  command = plan

  variables {
    processor_retries = 5
  }

  assert {
    condition = contains([
      for p in aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].parameters : "${p.parameter_name}=${p.parameter_value}"
    ], "NumberOfRetries=5")
    error_message = "A non-default retry count must be sent."
  }
}

run "role_is_least_privilege" {
  command = plan

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => [s.Action, s.Resource] } == {
      ReadTheSourceStream                  = [["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"], var.source_stream_arn]
      DecryptTheSourceStreamThroughKinesis = ["kms:Decrypt", var.source_kms_key_arn]
      InvokeTheProcessor                   = [["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], var.processor_function_arn]
      LocateTheBucket                      = [["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], var.bucket_arn]
      WriteUnderItsPrefixesOnly            = [["s3:PutObject", "s3:AbortMultipartUpload"], ["arn:aws:s3:::example-events/output/*", "arn:aws:s3:::example-events/processing-failed/output/*"]]
      EncryptObjectsThroughS3              = [["kms:GenerateDataKey", "kms:Decrypt"], var.kms_key_arn]
      LogDeliveryErrors                    = ["logs:PutLogEvents", "arn:aws:logs:us-east-1:111122223333:log-group:/aws/kinesisfirehose/enriched-good-to-s3:log-stream:DestinationDelivery"]
    }
    error_message = "The role may read only its stream, invoke only its function, write only under its prefixes and log only to its stream."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition if s.Sid == "DecryptTheSourceStreamThroughKinesis"] == [{
      StringEquals = {
        "kms:ViaService"                        = "kinesis.us-east-1.amazonaws.com"
        "kms:EncryptionContext:aws:kinesis:arn" = var.source_stream_arn
      }
    }]
    error_message = "The source key may be used only through Kinesis, for the source stream."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition.StringEquals if s.Sid == "EncryptObjectsThroughS3"] == [{
      "kms:ViaService" = "s3.us-east-1.amazonaws.com"
    }]
    error_message = "The storage key may be used only through S3."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if strcontains(jsonencode(s.Action), "s3:GetObject")]) == 0
    error_message = "The delivery role must never read objects: the error prefix holds raw records."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "firehose.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = "111122223333" } }
    }]
    error_message = "Only Firehose, on behalf of this account, may assume the delivery role."
  }
}

run "error_prefix_inside_prefix_is_refused" {
  command = plan

  variables {
    error_prefix = "output/failed/"
  }

  expect_failures = [aws_kinesis_firehose_delivery_stream.this]
}

run "prefix_with_expressions_is_refused" {
  command = plan

  variables {
    prefix = "output/!{timestamp:yyyy}/"
  }

  expect_failures = [var.prefix]
}

run "processor_buffer_over_3_mb_is_refused" {
  command = plan

  variables {
    processor_buffer_size_mb = 4
  }

  expect_failures = [var.processor_buffer_size_mb]
}

run "no_dynamic_partitioning_by_default" {
  command = plan

  assert {
    condition     = length(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].dynamic_partitioning_configuration) == 0
    error_message = "Without salt_version_partition_key the stream must not partition."
  }
}

run "salt_version_partitions_the_objects" {
  command = plan

  variables {
    salt_version_partition_key = "salt_version"
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == "output/salt_version=!{partitionKeyFromLambda:salt_version}/!{timestamp:yyyy/MM/dd/HH}/"
    error_message = "Objects must go under PREFIX, then the salt version the Lambda returns, then the UTC hour."
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].dynamic_partitioning_configuration[0].enabled == true
    error_message = "Dynamic partitioning must be enabled when the salt version partitions the objects."
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].error_output_prefix == "processing-failed/output/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
    error_message = "The error prefix must not depend on the partition key (failed records have none)."
  }
}

run "dynamic_partitioning_needs_a_64_mb_buffer" {
  command = plan

  variables {
    salt_version_partition_key = "salt_version"
    buffering_size_mb          = 32
  }

  expect_failures = [aws_kinesis_firehose_delivery_stream.this]
}

run "the_partition_key_is_a_name" {
  command = plan

  variables {
    salt_version_partition_key = "salt-version"
  }

  expect_failures = [var.salt_version_partition_key]
}

run "the_stream_waits_for_iam_to_propagate_the_role_and_its_policy" {
  command = plan

  assert {
    condition = alltrue([
      var.iam_propagation_seconds == 30,
      length(terraform_data.iam_propagation) == 1,
    ])
    error_message = "The delivery stream must wait (30 s by default) after its role and role policy are created or changed: CreateDeliveryStream fails intermittently while IAM propagates them."
  }
}

run "the_wait_runs_before_the_stream_is_created" {
  command = apply

  variables {
    iam_propagation_seconds = 1
  }

  assert {
    condition     = terraform_data.iam_propagation[0].triggers_replace == [aws_iam_role.this.arn, sha256(aws_iam_role_policy.this.policy)] && aws_kinesis_firehose_delivery_stream.this.name == var.name
    error_message = "With a wait configured, the apply must run it and then create the stream."
  }
}

run "an_emulator_can_skip_the_wait" {
  command = plan

  variables {
    iam_propagation_seconds = 0
  }

  assert {
    condition     = length(terraform_data.iam_propagation) == 0
    error_message = "iam_propagation_seconds = 0 must create no wait."
  }
}
