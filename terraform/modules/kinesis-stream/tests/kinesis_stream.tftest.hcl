mock_provider "aws" {
  source = "../../testing/aws-mocks"
}

variables {
  name            = "snowplow-raw-good"
  retention_hours = 48
  kms_key_arn     = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
}

run "on_demand_encrypted_with_the_given_key" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "ON_DEMAND" && aws_kinesis_stream.this.shard_count == null
    error_message = "The default must be an ON_DEMAND stream without a shard count."
  }
  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "KMS" && aws_kinesis_stream.this.kms_key_id == var.kms_key_arn
    error_message = "The stream must be encrypted with the customer-managed key it is given."
  }
  assert {
    condition     = aws_kinesis_stream.this.retention_period == 48
    error_message = "Retention must be the given number of hours."
  }
  assert {
    condition     = contains(aws_kinesis_stream.this.shard_level_metrics, "IteratorAgeMilliseconds") && contains(aws_kinesis_stream.this.shard_level_metrics, "WriteProvisionedThroughputExceeded")
    error_message = "Shard-level metrics must include iterator age and write throttling."
  }
  assert {
    condition     = !aws_kinesis_stream.this.enforce_consumer_deletion
    error_message = "Deleting the stream must never remove registered consumers silently."
  }
  assert {
    condition     = length(terraform_data.prevent_destroy) == 1
    error_message = "The stream must be guarded against destruction by default."
  }
  assert {
    condition     = output.arn == "arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-raw-good"
    error_message = "The ARN must be known when planning, so that consumers' plans show which stream they read."
  }
}

run "provisioned_with_shards" {
  command = plan

  variables {
    stream_mode     = "PROVISIONED"
    shard_count     = 4
    prevent_destroy = false
  }

  assert {
    condition     = aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "PROVISIONED" && aws_kinesis_stream.this.shard_count == 4
    error_message = "A PROVISIONED stream must get its shard count."
  }
  assert {
    condition     = length(terraform_data.prevent_destroy) == 0
    error_message = "prevent_destroy = false must not create the guard."
  }
}

run "provisioned_without_shards_is_refused" {
  command = plan

  variables {
    stream_mode = "PROVISIONED"
  }

  expect_failures = [aws_kinesis_stream.this]
}

run "on_demand_with_shards_is_refused" {
  command = plan

  variables {
    shard_count = 2
  }

  expect_failures = [aws_kinesis_stream.this]
}

run "retention_below_a_day_is_refused" {
  command = plan

  variables {
    retention_hours = 12
  }

  expect_failures = [var.retention_hours]
}

run "key_alias_is_refused" {
  command = plan

  variables {
    kms_key_arn = "alias/snowplow/streams"
  }

  expect_failures = [var.kms_key_arn]
}
