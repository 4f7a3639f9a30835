data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  arn_suffix           = "${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  log_group_arn_prefix = "arn:${data.aws_partition.current.partition}:logs:${local.arn_suffix}:log-group:/aws/lambda"
  function_arn_prefix  = "arn:${data.aws_partition.current.partition}:lambda:${local.arn_suffix}:function"

  # Built with jsonencode() rather than aws_iam_policy_document so that tests can decode them.
  assume_role_policy = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  }

  # The function that writes salt link records (the enriched one, when salt_links is set).
  links_format = var.salt_links != null && contains(keys(var.function_names), "enriched") ? "enriched" : null
  links_bucket = var.salt_links == null ? null : split(":::", var.salt_links.bucket_arn)[1]
  links_statements = flatten([for links in(var.salt_links == null ? [] : [var.salt_links]) : [
    {
      Sid      = "WriteSaltLinksOnly"
      Effect   = "Allow"
      Action   = "s3:PutObject"
      Resource = "${links.bucket_arn}/${links.prefix}*"
    },
    {
      Sid      = "EncryptSaltLinksThroughS3"
      Effect   = "Allow"
      Action   = "kms:GenerateDataKey"
      Resource = links.kms_key_arn
      Condition = {
        StringEquals = { "kms:ViaService" = "s3.${data.aws_region.current.name}.amazonaws.com" }
        # The bucket ARN when the bucket uses an S3 Bucket Key, the object ARN otherwise.
        StringLike = { "kms:EncryptionContext:aws:s3:arn" = [links.bucket_arn, "${links.bucket_arn}/${links.prefix}*"] }
      }
    },
  ]])

  # Each function may write its own log streams, read the salt, and decrypt the salt with its key
  # only through Secrets Manager and only for that secret; the enriched one may also put salt link
  # records under their prefix. Nothing else.
  role_policies = { for format, name in var.function_names : format => {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${local.log_group_arn_prefix}/${name}:*"
      },
      {
        Sid      = "ReadTheSalt"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = aws_secretsmanager_secret.salt.arn
      },
      {
        Sid      = "DecryptTheSaltThroughSecretsManager"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.secrets_kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService"                  = "secretsmanager.${data.aws_region.current.name}.amazonaws.com"
            "kms:EncryptionContext:SecretARN" = aws_secretsmanager_secret.salt.arn
          }
        }
      },
    ], [for statement in local.links_statements : statement if format == local.links_format])
  } }

  # Salt versions (docs/salt-rotation.md): the partition key on every function, the link records
  # on the enriched one.
  version_variables = var.salt_version_partition_key == null ? {} : {
    SALT_VERSION_PARTITION_KEY_NAME = var.salt_version_partition_key
  }
  links_variables = var.salt_links == null ? {} : {
    LINKS_BUCKET_NAME   = local.links_bucket
    LINKS_PREFIX        = var.salt_links.prefix
    LINK_WINDOW_SECONDS = tostring(var.salt_links.window_seconds)
  }

  timeout_ms = var.timeout_seconds * 1000

  # Every alarm's name ends in its priority (docs/alarms.md, the runbook, has a section per
  # alarm): <function>-errors_P2, <function>-throttles_P2, <function>-duration_P2.
  alarms = merge([for format, name in var.function_names : {
    "${format}/errors" = {
      function    = name
      metric      = "Errors"
      statistic   = "Sum"
      threshold   = 1
      runbook     = "lambda-errors"
      description = "${name} failed at least once in 5 minutes: Firehose retries, then writes the batch's raw records to the restricted processing-failed prefix. See the function's logs."
    }
    "${format}/throttles" = {
      function    = name
      metric      = "Throttles"
      statistic   = "Sum"
      threshold   = 1
      runbook     = "lambda-throttles"
      description = "${name} was throttled in the last 5 minutes: Firehose retries, delivery lags. Check the account's concurrency."
    }
    "${format}/duration" = {
      function    = name
      metric      = "Duration"
      statistic   = "Maximum"
      threshold   = floor(local.timeout_ms * var.duration_alarm_ratio)
      runbook     = "lambda-duration"
      description = "An invocation of ${name} took more than ${var.duration_alarm_ratio * 100}% of its ${var.timeout_seconds} s timeout: batches are close to timing out."
    }
  }]...)
}

# The salt: only the secret is managed here. Its value is put out of band (see README.md), so it
# never appears in configuration, plans or state.
resource "aws_secretsmanager_secret" "salt" {
  # checkov:skip=CKV2_AWS_57: Secrets Manager rotation would overwrite the salt and change every pseudonym at once; the salt is rotated by adding a scheduled version (snowplow-infra salt rotate, docs/salt-rotation.md) that keeps the old one and re-links pseudonyms.
  name                    = var.salt_secret_name
  description             = "HMAC-SHA256 salt of the pseudonymization Lambda. The value is set out of band, never by Terraform."
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = 30
}

# lifecycle.prevent_destroy cannot take a variable, so the guard is a separate resource that is
# replaced whenever the secret is. See docs/data-path.md, "Protection against destruction".
resource "terraform_data" "prevent_destroy" {
  count = var.prevent_destroy ? 1 : 0

  triggers_replace = [aws_secretsmanager_secret.salt.arn]

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_iam_role" "this" {
  for_each = var.function_names

  name               = each.value
  description        = "Execution role of the ${each.value} Lambda (RECORD_FORMAT=${each.key})."
  assume_role_policy = jsonencode(local.assume_role_policy)
}

resource "aws_iam_role_policy" "this" {
  for_each = var.function_names

  name   = "pseudonymize"
  role   = aws_iam_role.this[each.key].id
  policy = jsonencode(local.role_policies[each.key])
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = var.function_names

  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_50: X-Ray would add permissions to a role kept to logs, the salt and its key; a synchronous single-step transform is covered by its Errors, Throttles and Duration alarms.
  # checkov:skip=CKV_AWS_115: Reserved concurrency would cap Firehose's parallelism (throttles become retries and delivery lag) and carve capacity out of the account; the Throttles alarm watches instead.
  # checkov:skip=CKV_AWS_116: Firehose invokes the function synchronously; a dead-letter queue only applies to asynchronous invocations. Failed batches go to the restricted processing-failed prefix.
  # checkov:skip=CKV_AWS_117: The function reaches only Secrets Manager and CloudWatch Logs through their public endpoints; a VPC would add NAT or endpoints without narrowing what it can reach.
  # checkov:skip=CKV_AWS_173: The environment holds only the salt secret's ARN and the record format, nothing secret; Lambda encrypts it at rest with its AWS managed key.
  # checkov:skip=CKV_AWS_272: The package is built by this repository's pipeline and pinned by its SHA-256 in the reviewed plan; code signing would need a Signer profile outside this pipeline.
  for_each = var.function_names

  function_name    = each.value
  description      = "Pseudonymizes ${each.key} records for Firehose: every value becomes HMAC-SHA256(salt, value) unless allowlisted."
  role             = aws_iam_role.this[each.key].arn
  runtime          = var.runtime
  handler          = var.handler
  architectures    = [var.architecture]
  filename         = var.package_path
  source_code_hash = var.package_base64sha256
  memory_size      = var.memory_size_mb
  timeout          = var.timeout_seconds

  # The secret's name (not its ARN, which ends in a random suffix) keeps every value known when
  # planning, so the plan shows which salt, which rules and which metrics namespace each function
  # uses. The code defaults METRICS_NAMESPACE, but Terraform always sets it, from the one value
  # that monitoring reads too (output metrics_namespace).
  environment {
    variables = merge(
      {
        SALT_SECRET_ID    = aws_secretsmanager_secret.salt.name
        RECORD_FORMAT     = each.key
        METRICS_NAMESPACE = var.metrics_namespace
      },
      local.version_variables,
      each.key == local.links_format ? local.links_variables : {},
    )
  }

  # The log group (encrypted, with retention) and the role's permissions exist before the first
  # invocation, so Lambda never creates an unencrypted log group of its own.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${each.value.function}-${lower(each.value.metric)}_${var.alarm_priority}"
  alarm_description   = "${var.alarm_priority}: ${each.value.description} Runbook: ${coalesce(var.runbook_base_url, "docs/alarms.md")}#${each.value.runbook}"
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.this[split("/", each.key)[0]].function_name }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
