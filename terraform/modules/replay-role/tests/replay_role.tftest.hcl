mock_provider "aws" {
  source = "../../testing/aws-mocks"
}

variables {
  name                 = "snowplow-failed-records-replay"
  trusted_role_arn     = "arn:aws:iam::111122223333:role/snowplow-break-glass"
  bucket_arn           = "arn:aws:s3:::gitlab-com-snowplow-events"
  error_prefixes       = ["processing-failed/output/", "processing-failed/raw-bad/"]
  manifest_prefix      = "processing-failed/replay-manifests/"
  source_stream_arns   = ["arn:aws:kinesis:us-east-1:111122223333:stream/snowplow-enriched-good"]
  delivery_stream_arns = ["arn:aws:firehose:us-east-1:111122223333:deliverystream/snowplow-enriched-good-to-s3"]
  function_arns        = ["arn:aws:lambda:us-east-1:111122223333:function:snowplow-pseudonymize-enriched"]
  storage_kms_key_arn  = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  streams_kms_key_arn  = "arn:aws:kms:us-east-1:111122223333:key/66666666-7777-8888-9999-000000000000"
}

run "assumed_from_the_break_glass_role_only" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal == { AWS = var.trusted_role_arn } && length(jsondecode(aws_iam_role.this.assume_role_policy).Statement) == 1
    error_message = "Only the break-glass role may assume the replay role."
  }
  assert {
    condition     = aws_iam_role.this.max_session_duration == 3600
    error_message = "Sessions last an hour by default."
  }
}

run "exactly_what_replay_needs" {
  command = plan

  assert {
    condition     = toset([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Effect]) == toset(["Allow"])
    error_message = "The policy only allows; the bucket policy's Deny keeps everyone else out."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ReadAndTagErrorObjects"]) == ["arn:aws:s3:::gitlab-com-snowplow-events/processing-failed/output/*", "arn:aws:s3:::gitlab-com-snowplow-events/processing-failed/raw-bad/*"]
    error_message = "Error objects are read and tagged under the error prefixes only."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "KeepReplayManifests"]) == "arn:aws:s3:::gitlab-com-snowplow-events/processing-failed/replay-manifests/*"
    error_message = "Manifests are written under the manifest prefix only."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : !contains(flatten([s.Action]), "s3:DeleteObject") && !anytrue([for a in flatten([s.Action]) : endswith(a, "*")])])
    error_message = "No wildcard action and no delete: replayed objects are tagged and expire."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition if s.Sid == "StreamsKeyThroughKinesis"]) == { StringEquals = { "kms:ViaService" = "kinesis.us-east-1.amazonaws.com" } }
    error_message = "The streams key is usable through Kinesis only."
  }
}

run "refuses_a_wildcard_prefix" {
  command = plan

  variables {
    error_prefixes = ["processing-failed/*"]
  }

  expect_failures = [var.error_prefixes]
}
