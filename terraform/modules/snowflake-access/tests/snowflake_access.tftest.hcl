# Plans the module against a mocked AWS provider and checks the grants Snowflake gets.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }
  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }
}

variables {
  bucket_name = "example-snowplow-events"
  bucket_arn  = "arn:aws:s3:::example-snowplow-events"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  readable_prefixes = {
    enriched_good = "output/"
    enriched_bad  = "enriched-bad/"
    raw_bad       = "raw-bad/"
  }
  blocked_prefixes = [
    "processing-failed/enriched-good/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
    "processing-failed/enriched-bad/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
    "processing-failed/raw-bad/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
  ]
  storage_integration = {
    iam_user_arn = "arn:aws:iam::999999999999:user/abc1-s-example"
    external_id  = "EXAMPLE_SFCRole=2_abcdefghijklmnopqrstuvwxyz="
  }
  snowpipe_sqs_queue_arn = "arn:aws:sqs:us-east-1:999999999999:sf-snowpipe-EXAMPLE"
}

run "trust_policy_requires_the_external_id" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_role.this[0].assume_role_policy).Statement[0].Principal.AWS == var.storage_integration.iam_user_arn
    error_message = "The role must trust exactly the storage integration's IAM user."
  }
  assert {
    condition     = jsondecode(aws_iam_role.this[0].assume_role_policy).Statement[0].Condition.StringEquals["sts:ExternalId"] == var.storage_integration.external_id
    error_message = "The trust policy must carry the sts:ExternalId condition with the integration's external id."
  }
  assert {
    condition     = length(jsondecode(aws_iam_role.this[0].assume_role_policy).Statement) == 1
    error_message = "The trust policy must hold the one Snowflake statement and nothing else."
  }
  assert {
    condition     = output.role_arn == "arn:aws:iam::123456789012:role/snowplow-snowflake-storage-integration"
    error_message = "role_arn must be the role's ARN, computed from the account and the name."
  }
}

run "grants_are_read_only_and_scoped" {
  command = plan

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.read[0].policy).Statement : s.Action if s.Effect == "Allow"])) == toset([
      "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation", "kms:Decrypt",
    ])
    error_message = "The role may only read objects, list, locate the bucket and decrypt."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.read[0].policy).Statement : s.Resource
      if s.Effect == "Allow" && contains(flatten([s.Action]), "s3:GetObject")
      ])) == toset([
      "arn:aws:s3:::example-snowplow-events/output/*",
      "arn:aws:s3:::example-snowplow-events/enriched-bad/*",
      "arn:aws:s3:::example-snowplow-events/raw-bad/*",
    ])
    error_message = "GetObject must cover exactly output/, enriched-bad/ and raw-bad/."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.read[0].policy).Statement : s.Condition.StringLike["s3:prefix"]
      if s.Effect == "Allow" && contains(flatten([s.Action]), "s3:ListBucket")
    ])) == toset(["output/*", "enriched-bad/*", "raw-bad/*"])
    error_message = "ListBucket must be limited to the readable prefixes by an s3:prefix condition."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.read[0].policy).Statement : s.Resource == var.kms_key_arn && s.Condition.StringEquals["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
      if contains(flatten([s.Action]), "kms:Decrypt")
    ])
    error_message = "kms:Decrypt must be on the bucket key only, and only through S3."
  }
}

run "no_statement_grants_the_processing_failed_location" {
  command = plan

  assert {
    # No allowed resource covers an object under processing-failed/: neither a wildcard whose
    # stem is a prefix of its ARN, nor the ARN itself.
    condition = alltrue([
      for r in flatten([for s in jsondecode(aws_iam_role_policy.read[0].policy).Statement : s.Resource if s.Effect == "Allow"]) :
      endswith(r, "*") ? !startswith("arn:aws:s3:::example-snowplow-events/processing-failed/enriched-good/x", trimsuffix(r, "*")) : r != "arn:aws:s3:::example-snowplow-events/processing-failed/enriched-good/x"
    ])
    error_message = "An Allow statement reaches the processing-failed location."
  }
  assert {
    # No listable prefix covers processing-failed/.
    condition = alltrue([
      for p in flatten([for s in jsondecode(aws_iam_role_policy.read[0].policy).Statement : try(s.Condition.StringLike["s3:prefix"], []) if s.Effect == "Allow"]) :
      !startswith("processing-failed/enriched-good/x", trimsuffix(p, "*"))
    ])
    error_message = "An Allow statement lets the role list the processing-failed location."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.read[0].policy).Statement : s.Resource
      if s.Effect == "Deny" && contains(flatten([s.Action]), "s3:GetObject")
    ])) == toset(["arn:aws:s3:::example-snowplow-events/processing-failed/enriched-good/*", "arn:aws:s3:::example-snowplow-events/processing-failed/enriched-bad/*", "arn:aws:s3:::example-snowplow-events/processing-failed/raw-bad/*"])
    error_message = "The role must carry an explicit Deny on the static part of every processing-failed prefix."
  }
  assert {
    condition     = output.storage_blocked_locations == ["s3://example-snowplow-events/processing-failed/enriched-good/", "s3://example-snowplow-events/processing-failed/enriched-bad/", "s3://example-snowplow-events/processing-failed/raw-bad/"]
    error_message = "storage_blocked_locations must list the processing-failed prefixes for STORAGE_BLOCKED_LOCATIONS."
  }
}

run "snowpipe_is_notified_for_the_readable_prefixes_only" {
  command = plan

  assert {
    condition     = toset([for q in aws_s3_bucket_notification.this[0].queue : q.filter_prefix]) == toset(["output/", "enriched-bad/", "raw-bad/"])
    error_message = "The bucket must notify Snowpipe for output/, enriched-bad/ and raw-bad/, and nothing else."
  }
  assert {
    condition     = alltrue([for q in aws_s3_bucket_notification.this[0].queue : q.queue_arn == var.snowpipe_sqs_queue_arn && q.events == toset(["s3:ObjectCreated:*"])])
    error_message = "Every notification must send ObjectCreated events to the Snowpipe queue."
  }
  assert {
    condition     = output.storage_allowed_locations == { enriched_good = "s3://example-snowplow-events/output/", enriched_bad = "s3://example-snowplow-events/enriched-bad/", raw_bad = "s3://example-snowplow-events/raw-bad/" }
    error_message = "storage_allowed_locations must give one s3:// URL per readable prefix."
  }
}

run "before_the_integration_exists_nothing_is_created_but_the_role_arn_is_known" {
  command = plan

  variables {
    storage_integration    = null
    snowpipe_sqs_queue_arn = null
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_role_policy.read) == 0 && length(aws_s3_bucket_notification.this) == 0
    error_message = "Without the integration's identity and the queue, the module must create nothing."
  }
  assert {
    condition     = output.role_arn == "arn:aws:iam::123456789012:role/snowplow-snowflake-storage-integration" && !output.role_created
    error_message = "role_arn must be known before the role exists, for CREATE STORAGE INTEGRATION."
  }
}

run "a_readable_prefix_inside_the_processing_failed_location_is_refused" {
  command = plan

  variables {
    readable_prefixes = { leak = "processing-failed/enriched-good/" }
  }

  expect_failures = [output.storage_allowed_locations]
}

run "a_bucket_wide_readable_prefix_is_refused" {
  command = plan

  variables {
    readable_prefixes = { everything = "" }
  }

  expect_failures = [var.readable_prefixes]
}

run "nested_readable_prefixes_are_refused" {
  command = plan

  variables {
    readable_prefixes = { outer = "output/", inner = "output/2024/" }
  }

  expect_failures = [var.readable_prefixes]
}

run "a_malformed_integration_identity_is_refused" {
  command = plan

  variables {
    storage_integration = { iam_user_arn = "snowflake-user", external_id = "x" }
  }

  expect_failures = [var.storage_integration]
}
