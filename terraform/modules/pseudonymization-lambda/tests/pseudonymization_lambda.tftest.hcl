mock_provider "aws" {
  source = "../../testing/aws-mocks"

  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:snowplow/salt-AbCdEf" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/pseudonymize" }
  }
}

variables {
  function_names       = { enriched = "pseudonymize-enriched", bad_rows = "pseudonymize-bad-rows" }
  package_path         = "build/lambda/pseudonymization.zip"
  package_base64sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  salt_secret_name     = "snowplow/salt"
  metrics_namespace    = "Example/Pseudonymization"
  secrets_kms_key_arn  = "arn:aws:kms:us-east-1:111122223333:key/secrets"
  logs_kms_key_arn     = "arn:aws:kms:us-east-1:111122223333:key/logs"
}

run "one_function_per_record_format_from_the_same_package" {
  command = apply

  variables {
    prevent_destroy = false
  }

  assert {
    condition = jsonencode({ for format, f in aws_lambda_function.this : format => f.environment[0].variables }) == jsonencode({
      enriched = { METRICS_NAMESPACE = "Example/Pseudonymization", RECORD_FORMAT = "enriched", SALT_SECRET_ID = "snowplow/salt" }
      bad_rows = { METRICS_NAMESPACE = "Example/Pseudonymization", RECORD_FORMAT = "bad_rows", SALT_SECRET_ID = "snowplow/salt" }
    })
    error_message = "Each function must get the shared salt secret, its own RECORD_FORMAT and the given metrics namespace, and nothing else."
  }
  assert {
    condition     = output.metrics_namespace == "Example/Pseudonymization"
    error_message = "The module must output the namespace its functions write their metrics to."
  }
  assert {
    condition = alltrue([for f in aws_lambda_function.this :
      f.runtime == "python3.12" && f.architectures == tolist(["x86_64"]) && f.filename == var.package_path &&
      f.source_code_hash == var.package_base64sha256 && f.memory_size == 512 && f.timeout == 60
    ])
    error_message = "Every function must run python3.12 on the chosen architecture from the build's package, sized for a full batch."
  }
  assert {
    condition     = tomap({ for format, f in aws_lambda_function.this : format => f.function_name }) == var.function_names
    error_message = "Function names must be the given ones."
  }
}

run "function_arns_are_known_when_planning" {
  command = plan

  assert {
    condition = (
      output.function_arns.enriched == "arn:aws:lambda:us-east-1:111122223333:function:pseudonymize-enriched" &&
      output.function_arns.bad_rows == "arn:aws:lambda:us-east-1:111122223333:function:pseudonymize-bad-rows" &&
      length(output.function_arns) == 2
    )
    error_message = "Function ARNs must be known when planning, so that a delivery stream's plan shows which function it invokes."
  }
}

run "salt_secret_is_created_without_a_value" {
  command = plan

  assert {
    condition     = aws_secretsmanager_secret.salt.name == "snowplow/salt" && aws_secretsmanager_secret.salt.kms_key_id == var.secrets_kms_key_arn
    error_message = "The salt secret must be encrypted with the secrets key."
  }
  assert {
    condition     = aws_secretsmanager_secret.salt.recovery_window_in_days == 30
    error_message = "A deleted salt must stay recoverable for 30 days."
  }
  assert {
    condition     = length(terraform_data.prevent_destroy) == 1
    error_message = "The salt secret must be guarded against destruction by default."
  }
}

run "log_groups_are_encrypted_with_retention" {
  command = plan

  assert {
    condition = { for format, g in aws_cloudwatch_log_group.this : format => [g.name, g.kms_key_id, g.retention_in_days] } == {
      enriched = ["/aws/lambda/pseudonymize-enriched", var.logs_kms_key_arn, 365]
      bad_rows = ["/aws/lambda/pseudonymize-bad-rows", var.logs_kms_key_arn, 365]
    }
    error_message = "Each function must log into its own KMS-encrypted log group with retention."
  }
}

run "role_writes_logs_reads_the_salt_and_decrypts_only_through_secrets_manager" {
  command = apply

  variables {
    prevent_destroy = false
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.this["enriched"].policy).Statement == [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/pseudonymize-enriched:*"
      },
      {
        Sid      = "ReadTheSalt"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = "arn:aws:secretsmanager:us-east-1:111122223333:secret:snowplow/salt-AbCdEf"
      },
      {
        Sid      = "DecryptTheSaltThroughSecretsManager"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = "arn:aws:kms:us-east-1:111122223333:key/secrets"
        Condition = { StringEquals = {
          "kms:ViaService"                  = "secretsmanager.us-east-1.amazonaws.com"
          "kms:EncryptionContext:SecretARN" = "arn:aws:secretsmanager:us-east-1:111122223333:secret:snowplow/salt-AbCdEf"
        } }
      },
    ]
    error_message = "The role may only write its own logs, read the salt and decrypt it through Secrets Manager."
  }
  assert {
    condition     = jsondecode(aws_iam_role.this["bad_rows"].assume_role_policy).Statement[0].Principal == { Service = "lambda.amazonaws.com" }
    error_message = "Only Lambda may assume the execution role."
  }
}

run "alarms_on_errors_throttles_and_duration_near_the_timeout" {
  command = plan

  variables {
    timeout_seconds = 120
    alarm_actions   = ["arn:aws:sns:us-east-1:111122223333:alarms-P2"]
  }

  assert {
    condition = { for key, a in aws_cloudwatch_metric_alarm.this : key => [a.alarm_name, a.namespace, a.metric_name, a.dimensions.FunctionName, a.statistic, a.threshold] } == {
      "enriched/errors"    = ["pseudonymize-enriched-errors_P2", "AWS/Lambda", "Errors", "pseudonymize-enriched", "Sum", 1]
      "enriched/throttles" = ["pseudonymize-enriched-throttles_P2", "AWS/Lambda", "Throttles", "pseudonymize-enriched", "Sum", 1]
      "enriched/duration"  = ["pseudonymize-enriched-duration_P2", "AWS/Lambda", "Duration", "pseudonymize-enriched", "Maximum", 96000]
      "bad_rows/errors"    = ["pseudonymize-bad-rows-errors_P2", "AWS/Lambda", "Errors", "pseudonymize-bad-rows", "Sum", 1]
      "bad_rows/throttles" = ["pseudonymize-bad-rows-throttles_P2", "AWS/Lambda", "Throttles", "pseudonymize-bad-rows", "Sum", 1]
      "bad_rows/duration"  = ["pseudonymize-bad-rows-duration_P2", "AWS/Lambda", "Duration", "pseudonymize-bad-rows", "Maximum", 96000]
    }
    error_message = "Each function needs an Errors, a Throttles and a Duration alarm at 80% of its timeout, named with their P2 default priority."
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset(var.alarm_actions) && a.ok_actions == toset(var.alarm_actions)])
    error_message = "Alarms must notify the given actions when they fire and recover."
  }
  assert {
    condition = { for key, a in aws_cloudwatch_metric_alarm.this : key => regex("^P2: .* Runbook: (docs/alarms\\.md#lambda-[a-z]+)$", a.alarm_description)[0] } == {
      "enriched/errors"    = "docs/alarms.md#lambda-errors"
      "enriched/throttles" = "docs/alarms.md#lambda-throttles"
      "enriched/duration"  = "docs/alarms.md#lambda-duration"
      "bad_rows/errors"    = "docs/alarms.md#lambda-errors"
      "bad_rows/throttles" = "docs/alarms.md#lambda-throttles"
      "bad_rows/duration"  = "docs/alarms.md#lambda-duration"
    }
    error_message = "Each alarm's description must start with its priority and end with its runbook section."
  }
  assert {
    condition     = output.alarm_names == { for key, a in aws_cloudwatch_metric_alarm.this : key => a.alarm_name }
    error_message = "alarm_names must list every alarm, known when planning."
  }
}

run "the_alarm_priority_ends_every_alarm_name" {
  command = plan

  variables {
    alarm_priority = "P1"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 6 && alltrue([for a in aws_cloudwatch_metric_alarm.this : endswith(a.alarm_name, "_P1") && startswith(a.alarm_description, "P1: ")])
    error_message = "alarm_priority must end every alarm name and open every description."
  }
}

run "an_unknown_alarm_priority_is_refused" {
  command = plan

  variables {
    alarm_priority = "P4"
  }

  expect_failures = [var.alarm_priority]
}

run "unknown_record_format_is_refused" {
  command = plan

  variables {
    function_names = { json = "pseudonymize-json" }
  }

  expect_failures = [var.function_names]
}

run "timeout_beyond_firehose_limit_is_refused" {
  command = plan

  variables {
    timeout_seconds = 600
  }

  expect_failures = [var.timeout_seconds]
}

run "a_namespace_reserved_for_aws_is_refused" {
  command = plan

  variables {
    metrics_namespace = "AWS/Lambda"
  }

  expect_failures = [var.metrics_namespace]
}

run "a_namespace_cloudwatch_does_not_accept_is_refused" {
  command = plan

  variables {
    metrics_namespace = ":Snowplow\tPseudonymization"
  }

  expect_failures = [var.metrics_namespace]
}

run "a_hash_that_is_not_a_sha256_is_refused" {
  command = plan

  variables {
    package_base64sha256 = "stand-in"
  }

  expect_failures = [var.package_base64sha256]
}

run "alarm_texts_link_the_runbook_at_its_web_address" {
  command = plan

  variables {
    runbook_base_url = "https://gitlab.example.com/analytics/snowplow-infra/-/blob/main/docs/alarms.md"
  }

  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      can(regex("^P2: .* Runbook: https://gitlab\\.example\\.com/analytics/snowplow-infra/-/blob/main/docs/alarms\\.md#lambda-[a-z]+$", a.alarm_description))
    ])
    error_message = "With runbook_base_url, each alarm's description must end with a clickable link to its runbook section."
  }
}

run "a_runbook_address_that_is_not_https_is_refused" {
  command = plan

  variables {
    runbook_base_url = "http://gitlab.example.com/docs/alarms.md"
  }

  expect_failures = [var.runbook_base_url]
}

run "salt_versions_and_links" {
  command = plan

  variables {
    salt_version_partition_key = "salt_version"
    salt_links = {
      bucket_arn     = "arn:aws:s3:::example-events"
      prefix         = "salt-links/"
      kms_key_arn    = "arn:aws:kms:us-east-1:111122223333:key/storage"
      window_seconds = 86400
    }
  }

  assert {
    condition = jsonencode({ for format, f in aws_lambda_function.this : format => f.environment[0].variables }) == jsonencode({
      enriched = {
        METRICS_NAMESPACE               = "Example/Pseudonymization", RECORD_FORMAT = "enriched", LINKS_BUCKET_NAME = "example-events",
        LINKS_PREFIX                    = "salt-links/", LINK_WINDOW_SECONDS = "86400", SALT_SECRET_ID = "snowplow/salt",
        SALT_VERSION_PARTITION_KEY_NAME = "salt_version"
      }
      bad_rows = { METRICS_NAMESPACE = "Example/Pseudonymization", RECORD_FORMAT = "bad_rows", SALT_SECRET_ID = "snowplow/salt", SALT_VERSION_PARTITION_KEY_NAME = "salt_version" }
    })
    error_message = "Every function must return the salt version as the partition key; only the enriched one writes links, to the given bucket and prefix."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["enriched"].policy).Statement : s if s.Sid == "WriteSaltLinksOnly"] == [{
      Sid = "WriteSaltLinksOnly", Effect = "Allow", Action = "s3:PutObject", Resource = "arn:aws:s3:::example-events/salt-links/*"
    }]
    error_message = "The enriched function may put objects under the links prefix only (no read, no other prefix)."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this["enriched"].policy).Statement : s.Condition if s.Sid == "EncryptSaltLinksThroughS3"] == [{
      StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" }
      StringLike   = { "kms:EncryptionContext:aws:s3:arn" = ["arn:aws:s3:::example-events", "arn:aws:s3:::example-events/salt-links/*"] }
    }]
    error_message = "The enriched function may use the storage key only through S3, for the links (or the bucket's S3 Bucket Key)."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this["bad_rows"].policy).Statement : s if startswith(s.Sid, "WriteSaltLinks") || startswith(s.Sid, "EncryptSaltLinks")]) == 0
    error_message = "The bad-rows function writes no links and gets no S3 or storage-key permission."
  }
}

run "salt_links_prefix_must_end_with_a_slash" {
  command = plan

  variables {
    salt_links = {
      bucket_arn     = "arn:aws:s3:::example-events"
      prefix         = "salt-links"
      kms_key_arn    = "arn:aws:kms:us-east-1:111122223333:key/storage"
      window_seconds = 86400
    }
  }

  expect_failures = [var.salt_links]
}
