data "aws_partition" "current" {}

data "aws_region" "current" {}

# Only needed to name the Iglu API key secret in IAM (see local.iglu_api_key_secret_arn).
data "aws_caller_identity" "current" {
  count = var.iglu_api_key == null ? 0 : 1
}

locals {
  region = data.aws_region.current.name

  # Every file Enrich reads, by its path under the configuration folder.
  config_files = merge(
    { "enrich.hocon" = var.config, "iglu_resolver.json" = var.iglu_resolver },
    { for name, text in var.enrichments : "enrichments/${name}.json" => text },
  )
  config_sha256 = sha256(jsonencode(local.config_files))

  # Secrets Manager appends six random characters to a secret's name in its ARN.
  iglu_api_key_secret_arn = var.iglu_api_key == null ? null : join(":", [
    "arn", data.aws_partition.current.partition, "secretsmanager", local.region,
    data.aws_caller_identity.current[0].account_id, "secret", "${var.iglu_api_key.secret_name}-??????",
  ])

  # Statements that exist only when their feature is configured (null otherwise).
  optional_statements = [
    var.iglu_api_key == null ? null : {
      Sid      = "ReadIgluApiKey"
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = [local.iglu_api_key_secret_arn]
    },
    var.iglu_api_key == null ? null : {
      Sid       = "DecryptIgluApiKey"
      Effect    = "Allow"
      Action    = ["kms:Decrypt"]
      Resource  = [var.iglu_api_key.kms_key_arn]
      Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" } }
    },
    length(var.s3_asset_uris) == 0 ? null : {
      Sid      = "ReadEnrichmentAssets"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = [for uri in var.s3_asset_uris : "arn:${data.aws_partition.current.partition}:s3:::${trimsuffix(trimprefix(uri, "s3://"), "/")}/*"]
    },
  ]

  # Enrich's own boot steps, which run after the fleet's common ones (ec2-fleet).
  boot_script = templatefile("${path.module}/templates/app.sh.tftpl", {
    config_files_base64  = { for path, text in local.config_files : path => base64encode(text) }
    config_sha256        = local.config_sha256
    iglu_api_key_secret  = try(var.iglu_api_key.secret_name, "")
    iglu_api_key_env_var = try(var.iglu_api_key.env_var, "")
  })

  # Read raw-good, write the enriched streams, hold KCL leases; the fleet adds logs, the agent's
  # metrics, Session Manager and reporting a failed boot.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ReadRawGoodStream"
          Effect   = "Allow"
          Action   = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
          Resource = [var.raw_good_stream_arn]
        },
        {
          Sid      = "WriteEnrichedStreams"
          Effect   = "Allow"
          Action   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary"]
          Resource = [var.enriched_good_stream_arn, var.enriched_bad_stream_arn]
        },
        {
          # Decrypt what raw-good holds, encrypt what the enriched streams receive.
          Sid       = "UseStreamsKey"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = [var.streams_kms_key_arn]
          Condition = { StringEquals = { "kms:ViaService" = "kinesis.${local.region}.amazonaws.com" } }
        },
        {
          # What KCL 2.x does with an existing lease table (it never needs to create one).
          Sid      = "ManageLeases"
          Effect   = "Allow"
          Action   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
          Resource = [aws_dynamodb_table.leases.arn]
        },
        {
          Sid       = "UseLeaseTableKey"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
          Resource  = [var.lease_table_kms_key_arn]
          Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
        },
        {
          # KCL's metrics, whose namespace is the application name (the agent's are the fleet's).
          Sid       = "PublishKclMetrics"
          Effect    = "Allow"
          Action    = ["cloudwatch:PutMetricData"]
          Resource  = ["*"]
          Condition = { StringEquals = { "cloudwatch:namespace" = var.app_name } }
        },
      ],
      [for statement in local.optional_statements : statement if statement != null],
    )
  })
}

# --- KCL lease table, named by the KCL application name ---

resource "aws_dynamodb_table" "leases" {
  name                        = var.app_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "leaseKey"
  deletion_protection_enabled = var.prevent_destroy

  attribute {
    name = "leaseKey"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.lease_table_kms_key_arn
  }

  lifecycle {
    precondition {
      condition     = can(regex("\"?appName\"?\\s*[:=]\\s*\"${var.app_name}\"", var.config))
      error_message = "The enrich configuration's appName is not \"${var.app_name}\", the lease table's name; the rendered configuration is stale or from another environment. Run `make configs` and plan again."
    }
  }
}

# lifecycle.prevent_destroy cannot take a variable, so the guard is a resource replaced whenever the
# table is: a plan that destroys or replaces the table must destroy the guard, and Terraform refuses
# it. The same guard as the data path's stateful resources (docs/data-path.md).
resource "terraform_data" "prevent_destroy" {
  count = var.prevent_destroy ? 1 : 0

  triggers_replace = [aws_dynamodb_table.leases.arn]

  lifecycle {
    prevent_destroy = true
  }
}

# --- The instances: hardened EC2 fleet with EC2 health checks (there is no load balancer) and no
# inbound rule at all ---

module "fleet" {
  source = "../ec2-fleet"

  name              = var.name
  description       = "Snowplow Enrich"
  vpc_id            = var.vpc_id
  subnet_ids        = var.private_subnet_ids
  image             = var.image
  boot_script       = local.boot_script
  config_sha256     = local.config_sha256
  policy_json       = local.policy
  health_check_type = "EC2"
  additional_egress = var.egress
  logs_kms_key_arn  = var.logs_kms_key_arn
  settings          = var.fleet
}
